import { createRequire } from "node:module";
import { describe, expect, test } from "vitest";
import { asciiShortcut, type ToAsciiOptions } from "./tr46.ts";

// The real tr46, resolved the way sdk-source.ts bundles it (it is whatwg-url's dependency).
const tr46 = createRequire(createRequire(import.meta.url).resolve("whatwg-url"))("tr46") as {
  toASCII(domain: string, options: ToAsciiOptions): string | null;
};

/** What whatwg-url 15.1.0 passes for a URL's host (domain to ASCII, beStrict false). */
const URL_OPTIONS: ToAsciiOptions = {
  checkHyphens: false,
  checkBidi: true,
  checkJoiners: true,
  useSTD3ASCIIRules: false,
  transitionalProcessing: false,
  verifyDNSLength: false,
  ignoreInvalidPunycode: false,
};

// Every ASCII code point alone and inside labels, then random ASCII domains
// rich in dots, hyphens, capitals and x/n (to come close to "xn--").
function asciiDomains(): string[] {
  const out: string[] = [""];
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    out.push(ch, `a${ch}b`, `${ch}.example`, `example.${ch}`);
  }
  const alphabet = "abcxnXN-.-.09AZ_%~ \t\u0000\u007f";
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5000; i++) {
    let s = "";
    const length = Math.floor(next() * 24);
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)];
    out.push(s);
  }
  out.push("xn--", "XN--a", "a.xN--b", "a.bxn--c", "-xn--", "EXAMPLE.COM", "a..b.", "..", "localhost");
  return out;
}

describe("tr46's ASCII shortcut (the URL Standard's domain to ASCII, step 1's note)", () => {
  test("answers what tr46 answers for every ASCII domain it takes, and is taken for every one without an xn-- label", () => {
    let taken = 0;
    for (const domain of asciiDomains()) {
      const short = asciiShortcut(domain, URL_OPTIONS);
      const hasPunycodeLabel = domain.split(".").some((label) => label.toLowerCase().startsWith("xn--"));
      expect(short === null, JSON.stringify(domain)).toBe(hasPunycodeLabel);
      if (short === null) continue;
      taken++;
      expect(short, JSON.stringify(domain)).toBe(tr46.toASCII(domain, URL_OPTIONS));
    }
    expect(taken).toBeGreaterThan(5000);
  });

  test("is not taken for non-ASCII domains or with any of beStrict's checks", () => {
    expect(asciiShortcut("exämple.com", URL_OPTIONS)).toBeNull();
    expect(asciiShortcut("example.com\u0080", URL_OPTIONS)).toBeNull();
    for (const strict of ["checkHyphens", "useSTD3ASCIIRules", "verifyDNSLength"] as const) {
      expect(asciiShortcut("example.com", { ...URL_OPTIONS, [strict]: true })).toBeNull();
    }
    expect(asciiShortcut("Example.COM", URL_OPTIONS)).toBe("example.com");
  });
});
