import addressparser from "nodemailer/lib/addressparser";

// `local@domain`, alone or as `Display Name <local@domain>`, with none of
// the characters that give addressparser something to do.
const ATOM = String.raw`[^\s"(),:;<>@\[\]\\]+`;
export const SIMPLE_ADDRESS = new RegExp(String.raw`^\s*(?:(${ATOM}@${ATOM})|[^"(),:;<>@\[\]\\]*<(${ATOM}@${ATOM})>)\s*$`);

/**
 * The bare addresses (`local@domain`) of an address list such as a To header,
 * display names and groups dropped. Parse the undecoded header value: a
 * decoded display name can hold the comma that separates addresses.
 *
 * @example
 * bareAddresses('"Reinman, Andris" <andris@example.com>, b@example.com'); // ["andris@example.com", "b@example.com"]
 */
export function bareAddresses(value: string | undefined | null): string[] {
  if (!value) return [];
  // Most headers hold one plain address, bare or after a plain display name:
  // answered here as addressparser would, at a fraction of its cost. Anything
  // with quotes, comments, groups, routes or several addresses goes to it.
  const simple = SIMPLE_ADDRESS.exec(value);
  if (simple) return [(simple[1] ?? simple[2]) as string];
  return addressparser(value, { flatten: true })
    .map((entry) => entry.address.trim())
    .filter((address) => address.includes("@"));
}

/** Message-IDs keep their angle brackets (`<id@host>`); a bare id gets them, as mailparser does. */
export function normalizeMessageId(value: string | undefined | null): string | null {
  const trimmed = (value ?? "").trim();
  if (trimmed === "") return null;
  const bracketed = trimmed.match(/<[^<>]*>/);
  if (bracketed) return bracketed[0];
  const token = trimmed.split(/\s+/)[0] ?? "";
  return `<${token}>`;
}

/** In-Reply-To can name several messages; each keeps its brackets, separated by a space. */
export function normalizeInReplyTo(value: string | undefined | null): string | null {
  const trimmed = (value ?? "").trim();
  if (trimmed === "") return null;
  const ids = trimmed.match(/<[^<>]*>/g);
  return ids ? ids.join(" ") : normalizeMessageId(trimmed);
}
