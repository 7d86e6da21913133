import { EmailError } from "./errors.ts";

// nodemailer's codes for failures of the connection itself: the server may be
// back soon, so the run is retried.
const TRANSIENT_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROTOCOL", "ECONNREFUSED", "ECONNRESET", "EPIPE"]);

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
  message?: string;
}

/**
 * Maps a nodemailer failure to an EmailError: connection trouble and 4xx
 * answers are retryable (`smtp_unavailable`), 5xx and refused recipients are
 * not (`rejected`), bad credentials are the operator's to fix
 * (`smtp_auth_failed`). The SMTP URL's password is scrubbed from the message.
 */
export function classifySmtpError(error: unknown, smtpUrl: string): EmailError {
  const failure = (typeof error === "object" && error !== null ? error : { message: String(error) }) as SmtpFailure;
  const detail = scrub(failure.response || failure.message || "unknown failure", smtpUrl);
  const code = failure.code ?? "";
  if (code === "EAUTH") return new EmailError("smtp_auth_failed", `the SMTP server refused the credentials: ${detail}`);
  const status = failure.responseCode ?? 0;
  // STARTTLS refused by a server that does not offer it: trying again will not change that.
  if (code === "ETLS" && failure.command === "STARTTLS" && status >= 500) {
    return new EmailError(
      "smtp_tls_unavailable",
      `the SMTP server does not offer STARTTLS, and mail is not sent unencrypted to it (use smtps://, or SWITCHYARD_SMTP_PLAINTEXT=always on a trusted network): ${detail}`,
    );
  }
  if (status >= 400 && status < 500) return new EmailError("smtp_unavailable", `the SMTP server answered ${status}, try later: ${detail}`, true);
  if (TRANSIENT_CODES.has(code)) return new EmailError("smtp_unavailable", `the SMTP server is unreachable (${code}): ${detail}`, true);
  if (status >= 500 || code === "EENVELOPE" || code === "EMESSAGE") return new EmailError("rejected", `the SMTP server rejected the message: ${detail}`);
  return new EmailError("smtp_unavailable", `sending failed (${code || "unknown"}): ${detail}`, true);
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
