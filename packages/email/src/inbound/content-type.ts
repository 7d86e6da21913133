import { parseHeaderValue } from "nodemailer/lib/mime-funcs";
import { unsupportedMediaType } from "./errors.ts";

export interface MediaType {
  /** Lower-case `type/subtype`. */
  type: string;
  /** Lower-case parameter names. */
  params: Record<string, string>;
}

/** Parses a Content-Type value the way nodemailer (and so mailparser's splitter) does, comments dropped. */
export function parseMediaType(value: string): MediaType {
  const parsed = parseHeaderValue(value, { stripComments: true });
  return { type: parsed.value.trim().toLowerCase(), params: parsed.params };
}

/** Refuses with 415 unless the Content-Type is one of `accepted` (or, for "+json", any `*\/*+json`). */
export function requireMediaType(contentType: string, accepted: readonly string[]): MediaType {
  const media = parseMediaType(contentType);
  const ok = accepted.some((type) => type === media.type || (type === "application/json" && /^application\/[\w.-]+\+json$/.test(media.type)));
  if (!ok) throw unsupportedMediaType(contentType, accepted);
  return media;
}
