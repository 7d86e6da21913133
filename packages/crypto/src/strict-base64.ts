import type { Result } from "./result.ts";

/** Why a string is not strict base64; each maps to an operator-facing hint. */
export type Base64Problem = "whitespace" | "url_safe" | "bad_character" | "bad_padding" | "non_canonical";

export const BASE64_HINTS: Readonly<Record<Base64Problem, string>> = {
  whitespace: "it contains whitespace (a trailing newline?)",
  url_safe: "it contains - or _ (url-safe base64); use the standard alphabet with + and /",
  bad_character: "it contains characters outside the base64 alphabet",
  bad_padding: "its length or = padding is not valid base64",
  non_canonical: "its last character carries stray bits (not canonical base64)",
};

/**
 * Decodes standard-alphabet base64, padding optional, and refuses everything
 * else. Node's own decoder silently skips characters it does not know, so a
 * mangled key (a pasted newline, url-safe characters) would decode to some
 * other, shorter key instead of failing.
 *
 * `canonical` also refuses non-zero unused bits in the last character, so one
 * key has exactly one spelling.
 */
export function decodeStrictBase64(text: string, options: { canonical?: boolean } = {}): Result<Buffer, Base64Problem> {
  if (/\s/.test(text)) return { ok: false, error: "whitespace" };
  if (/[-_]/.test(text)) return { ok: false, error: "url_safe" };
  if (/[^A-Za-z0-9+/=]/.test(text)) return { ok: false, error: "bad_character" };

  const body = text.replace(/=+$/, "");
  const padding = text.length - body.length;
  // `=` only at the end; a group of 4 never has a lone character (length % 4
  // === 1); when present, padding must complete the last group exactly.
  if (body.includes("=") || body.length % 4 === 1 || (padding > 0 && (text.length % 4 !== 0 || padding > 2))) {
    return { ok: false, error: "bad_padding" };
  }

  const bytes = Buffer.from(body, "base64");
  if (options.canonical && bytes.toString("base64").replace(/=+$/, "") !== body) {
    return { ok: false, error: "non_canonical" };
  }
  return { ok: true, value: bytes };
}
