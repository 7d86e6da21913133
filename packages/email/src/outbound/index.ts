export { allowedBy, parseMailboxes, type Mailbox } from "./addresses.ts";
export { EmailError, type EmailErrorCode } from "./errors.ts";
export { createMailer, type Mailer, type MailerOptions, type PlaintextPolicy, type SendOptions, type SendResult } from "./mailer.ts";
export { buildRaw, prepareEmail, type EmailKind, type PrepareOptions, type PreparedEmail } from "./message.ts";
export { createEmailSender, type AppEmailSettings, type EmailSender, type EmailSenderOptions, type SendLog, type SendOrigin, type SendRecord } from "./sender.ts";
export { MinuteLimiter } from "./rate-limit.ts";
export { assertSmtpHostAllowed, parseSmtpHostRules, smtpHostAllowed, smtpRuleEntry, type SmtpHostRule } from "./smtp-hosts.ts";
export { assertSmtpUrl, isLoopbackHost } from "./smtp-url.ts";
