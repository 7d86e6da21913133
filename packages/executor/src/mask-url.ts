/**
 * Masking a subrequest's recorded URL (`scheme://host/path`, run-fetch.ts's
 * recordUrl) with the run's redactor. The URL parser rewrites what the
 * script wrote: it percent-encodes the path (a space becomes %20, but `&`
 * stays, which is neither the secret's text nor its encodeURIComponent form)
 * and lowercases the host. So the path is searched as recorded and
 * percent-decoded (repeatedly, for a secret encoded twice), each segment on
 * its own so a `%2F` cannot move a match into the next one, and a segment any
 * secret touches is replaced whole by that secret's mask: what is left of an
 * encoded secret around its match would still give much of it away. The
 * host is searched without regard to case.
 *
 * @example
 * maskRecordedUrl("https://api.test/v1/tok%2Fen/items", redactor); // "https://api.test/v1/[secret:TOKEN]/items"
 */
import type { Redactor, SecretMatch } from "./redact.ts";

// Percent-encoding deeper than this is not a way anyone writes a URL; what is left is searched as it is.
const MAX_DECODE_ROUNDS = 3;
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/** `url` masked by `redactor`; see the file comment. */
export function maskRecordedUrl(url: string, redactor: Redactor): string {
  if (redactor.empty) return url;
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(\/.*)?$/i.exec(url);
  if (!parts) return redactor.text(url);
  const [, scheme = "", host = "", path = ""] = parts;
  return `${scheme}${maskHost(host, redactor)}${maskPath(path, redactor)}`;
}

function maskHost(host: string, redactor: Redactor): string {
  return replaceMatches(host, redactor.find(host, { ignoreCase: true }));
}

function maskPath(path: string, redactor: Redactor): string {
  if (path === "") return path;
  const segments = path.split("/");
  const masks = segments.map(() => [] as string[]);
  const mark = (forms: string[]) => {
    for (const match of redactor.find(forms.join("/"))) {
      // Offsets of each segment in the joined text; a match marks every segment it overlaps.
      let start = 0;
      forms.forEach((form, i) => {
        const end = start + form.length;
        if (match.index < end && match.index + match.length > start && !masks[i]?.includes(match.mask)) masks[i]?.push(match.mask);
        start = end + 1;
      });
    }
  };
  mark(segments);
  let forms = segments;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const decoded = forms.map(percentDecode);
    if (decoded.every((form, i) => form === forms[i])) break;
    forms = decoded;
    mark(forms);
  }
  return segments.map((segment, i) => (masks[i]?.length ? masks[i].join("") : segment)).join("/");
}

/** Every `%XX` run as the UTF-8 it spells; malformed escapes stay as they are and bad UTF-8 becomes U+FFFD, never an exception. */
function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(ESCAPES, (run) => utf8.decode(Uint8Array.from(run.slice(1).split("%"), (hex) => parseInt(hex, 16))));
}

function replaceMatches(text: string, matches: SecretMatch[]): string {
  let out = "";
  let at = 0;
  for (const match of matches) {
    out += text.slice(at, match.index) + match.mask;
    at = match.index + match.length;
  }
  return out + text.slice(at);
}
