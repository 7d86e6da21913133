/**
 * tr46 (UTS #46) as whatwg-url sees it, INSIDE the isolate: the bundle hands
 * whatwg-url this file for `require("tr46")`, and the real tr46 (by another
 * name, sdk-source.ts `tr46Aliases`) is evaluated only for a host that needs it.
 *
 * Why: tr46 builds its Unicode mapping table (~9,000 entries) and its regexes
 * when it is evaluated, which cost a context ~3 ms on the first `new URL()`,
 * ten times the rest of whatwg-url. Nearly every host a script names is
 * ASCII, and for those the URL Standard itself says the whole of UTS #46
 * comes down to lowercasing (domain to ASCII, step 1's note): "If beStrict is
 * false, domain is an ASCII string, and strictly splitting domain on U+002E
 * (.) does not produce any item that starts with an ASCII case-insensitive
 * match for "xn--", this step is equivalent to ASCII lowercasing domain."
 * runtime.url.test.ts runs the WPT vectors through this file, and
 * tr46.test.ts checks the shortcut against tr46 itself.
 */

/** tr46's options, as whatwg-url passes them. */
export interface ToAsciiOptions {
  checkHyphens?: boolean;
  checkBidi?: boolean;
  checkJoiners?: boolean;
  useSTD3ASCIIRules?: boolean;
  verifyDNSLength?: boolean;
  transitionalProcessing?: boolean;
  ignoreInvalidPunycode?: boolean;
}

interface Tr46 {
  toASCII(domain: string, options?: ToAsciiOptions): string | null;
  toUnicode(domain: string, options?: ToAsciiOptions): { domain: string; error: boolean };
}

declare const require: (id: string) => unknown;

let full: Tr46 | null = null;

/** The real tr46 (and its tables), evaluated in this context on first need. */
function tr46(): Tr46 {
  full ??= require("@switchyard/tr46-full") as Tr46;
  return full;
}

/** Any UTF-16 code unit above U+007F (surrogates included): a non-ASCII string. */
const NOT_ASCII = /[\u0080-\uffff]/;
const PUNYCODE_LABEL = /(?:^|\.)xn--/i;

/**
 * The URL Standard's shortcut: `domain` lowercased, or null when it does not
 * apply (a non-ASCII domain, an `xn--` label, or any of beStrict's checks).
 */
export function asciiShortcut(domain: string, options: ToAsciiOptions = {}): string | null {
  if (options.checkHyphens === true || options.useSTD3ASCIIRules === true || options.verifyDNSLength === true) return null;
  if (NOT_ASCII.test(domain) || PUNYCODE_LABEL.test(domain)) return null;
  // On an ASCII string toLowerCase changes A-Z and nothing else.
  return domain.toLowerCase();
}

/** UTS #46 ToASCII, as tr46's `toASCII`. */
export function toASCII(domain: string, options?: ToAsciiOptions): string | null {
  return asciiShortcut(domain, options) ?? tr46().toASCII(domain, options);
}

/** UTS #46 ToUnicode, as tr46's `toUnicode`. */
export function toUnicode(domain: string, options?: ToAsciiOptions): { domain: string; error: boolean } {
  return tr46().toUnicode(domain, options);
}
