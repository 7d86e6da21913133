import { EmailError } from "./errors.ts";

// nodemailer's codes for failures of the connection itself: the server may be
// back soon, so the run is retried.
const TRANSIENT_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROTOCOL", "ECONNREFUSED", "ECONNRESET", "EPIPE"]);

// The egress policy's codes (@switchyard/egress), from the connection an
// app's own SMTP server is reached through.
const EGRESS_TRANSIENT = new Set(["dns_failed", "connect_failed", "egress_timeout"]);

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
  message?: string;
  reason?: string;
}

/**
 * Fixed texts, one per outcome: the script learns the outcome's code and
 * this, never a word the other end wrote. Whatever answers on a port (an SSH
 * daemon, a database, an internal HTTP service) would otherwise have its
 * banner read back through the send error.
 */
const MESSAGES = {
  not_allowed: "this app's SMTP_URL names a server the operator does not allow (an internal address, or one outside SWITCHYARD_SMTP_ALLOWED_HOSTS)",
  auth: "the SMTP server refused the credentials",
  tls: "the SMTP server does not offer STARTTLS, and mail is not sent unencrypted to it (use smtps://, or SWITCHYARD_SMTP_PLAINTEXT=always on a trusted network)",
  later: "the SMTP server could not take the message now; the run is retried",
  unreachable: "the SMTP server is unreachable; the run is retried",
  rejected: "the SMTP server rejected the message",
  failed: "sending failed; the run is retried",
} as const;

/**
 * Maps a nodemailer (or egress) failure to an EmailError: connection trouble
 * and 4xx answers are retryable (`smtp_unavailable`), 5xx and refused
 * recipients are not (`rejected`), bad credentials are the operator's to fix
 * (`smtp_auth_failed`), a destination the egress policy refuses is
 * `smtp_host_not_allowed`. The message is fixed; what the server said goes to
 * `detail` (the operator's log), with the SMTP URL's password scrubbed.
 */
export function classifySmtpError(error: unknown, smtpUrl: string): EmailError {
  const failure = (typeof error === "object" && error !== null ? error : { message: String(error) }) as SmtpFailure;
  const code = failure.code ?? "";
  const status = failure.responseCode ?? 0;
  const said = failure.reason ?? failure.response ?? failure.message ?? "unknown failure";
  const detail = scrub(`${code || "no code"}${status ? ` ${status}` : ""}${failure.command ? ` after ${failure.command}` : ""}: ${said}`, smtpUrl);
  const fail = (emailCode: ConstructorParameters<typeof EmailError>[0], message: string, retryable: boolean) => new EmailError(emailCode, message, retryable, { detail, cause: error });
  if (code === "egress_denied") return fail("smtp_host_not_allowed", MESSAGES.not_allowed, false);
  if (EGRESS_TRANSIENT.has(code)) return fail("smtp_unavailable", MESSAGES.unreachable, true);
  if (code === "EAUTH") return fail("smtp_auth_failed", MESSAGES.auth, false);
  // STARTTLS refused by a server that does not offer it: trying again will not change that.
  if (code === "ETLS" && failure.command === "STARTTLS" && status >= 500) return fail("smtp_tls_unavailable", MESSAGES.tls, false);
  if (status >= 400 && status < 500) return fail("smtp_unavailable", MESSAGES.later, true);
  if (TRANSIENT_CODES.has(code)) return fail("smtp_unavailable", MESSAGES.unreachable, true);
  if (status >= 500 || code === "EENVELOPE" || code === "EMESSAGE") return fail("rejected", MESSAGES.rejected, false);
  return fail("smtp_unavailable", MESSAGES.failed, true);
}

function scrub(text: string, smtpUrl: string): string {
  let out = text.slice(0, 500);
  try {
    const url = new URL(smtpUrl);
    for (const part of [url.password, decodeURIComponent(url.password)]) if (part) out = out.split(part).join("***");
  } catch {
    // An unparsable URL never got as far as a connection.
  }
  return out;
}
