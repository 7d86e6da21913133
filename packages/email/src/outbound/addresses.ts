import addressparser from "nodemailer/lib/addressparser";
import { EmailError } from "./errors.ts";

export interface Mailbox {
  name: string;
  address: string;
}

// What we accept after nodemailer's parser has split a field: one `@`, no
// whitespace, controls or structural characters on either side, a dot in the
// domain (or a bracketed literal). Deliberately narrower than RFC 5322.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it must refuse
const ADDRESS = /^[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]+@(?:[^\s@<>()[\]\\,;:"\x00-\x1f\x7f.]+\.)+[^\s@<>()[\]\\,;:"\x00-\x1f\x7f.]+$/u;

/**
 * Parses an address field as the script gave it (a string or an array of
 * strings, each possibly `Name <a@b>` or a list) with nodemailer's parser, the
 * same one that will write the header. CR or LF anywhere is refused outright:
 * it is the one way a header value could start a header of its own.
 */
export function parseMailboxes(field: string, value: unknown, options: { required: boolean }): Mailbox[] {
  if (value === undefined || value === null || value === "") {
    if (options.required) throw new EmailError("invalid_address", `${field} is required`);
    return [];
  }
  const entries = Array.isArray(value) ? value : [value];
  const out: Mailbox[] = [];
  for (const entry of entries) {
    if (typeof entry !== "string") throw new EmailError("invalid_address", `${field} must be a string or an array of strings`);
    if (/[\r\n]/.test(entry)) throw new EmailError("invalid_address", `${field} contains a line break`);
    const parsed = addressparser(entry, { flatten: true });
    if (parsed.length === 0) throw new EmailError("invalid_address", `${field} has no address in ${JSON.stringify(entry.slice(0, 200))}`);
    for (const box of parsed) {
      // Without angle brackets there is no place for a display name: the
      // parser turning "a b@x.com" into name "a" and address "b@x.com"
      // would send to someone the script did not write.
      const stray = box.name !== "" && !entry.includes("<");
      if (stray || !ADDRESS.test(box.address)) {
        throw new EmailError("invalid_address", `${field} has an invalid address ${JSON.stringify((box.address || entry).slice(0, 200))}`);
      }
      out.push({ name: box.name, address: box.address });
    }
  }
  if (options.required && out.length === 0) throw new EmailError("invalid_address", `${field} is required`);
  return out;
}

/**
 * An allowlist entry matches an exact address (`a@example.com`) or a whole
 * domain (`@example.com` or `example.com`); case never matters.
 */
export function allowedBy(list: readonly string[], address: string): boolean {
  const lower = address.toLowerCase();
  const domain = lower.slice(lower.lastIndexOf("@") + 1);
  return list.some((raw) => {
    const entry = raw.trim().toLowerCase();
    if (entry.includes("@") && !entry.startsWith("@")) return entry === lower;
    return entry.replace(/^@/, "") === domain;
  });
}
