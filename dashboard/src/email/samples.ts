// What each inbound provider posts, as a sample the form shows and the
// "send test email" button sends. The shapes follow each provider's inbound
// webhook; the service normalizes all of them into one `event.email`.

export type Provider = "generic" | "postmark" | "sendgrid" | "mailgun" | "mime";
export const PROVIDERS: Provider[] = ["generic", "postmark", "sendgrid", "mailgun", "mime"];

export interface SampleMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export interface ProviderInfo {
  label: string;
  /** One sentence: who sends this and how. */
  about: string;
}

export const PROVIDER_INFO: Record<Provider, ProviderInfo> = {
  generic: { label: "Generic JSON", about: "Your own code or any relay posts JSON with these fields; only from is required." },
  postmark: { label: "Postmark", about: "Point a Postmark inbound stream's webhook at the inbound URL; it posts its JSON." },
  sendgrid: { label: "SendGrid Inbound Parse", about: "Point an Inbound Parse host at the inbound URL (not \"POST the raw, full MIME message\"); it posts multipart/form-data." },
  mailgun: { label: "Mailgun routes", about: "A Mailgun route's forward() action posts the parsed message (urlencoded, or multipart/form-data with attachments) with Mailgun's timestamp, token and signature." },
  mime: { label: "Raw MIME", about: "Post the whole message as it came off the wire, with Content-Type: message/rfc822." },
};

export interface Sample {
  contentType: string;
  body: string;
}

const CRLF = "\r\n";

function multipart(fields: [string, string][]): Sample {
  const boundary = `----switchyard${Math.random().toString(36).slice(2, 12)}`;
  const parts = fields.map(([name, value]) => `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${CRLF}${CRLF}${value}${CRLF}`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: parts.join("") + `--${boundary}--${CRLF}` };
}

const nameOf = (address: string) => address.split("@")[0] ?? address;

/**
 * The request a provider would send for `m`. `mailgun` carries Mailgun's
 * signature fields when given.
 */
export function buildSample(provider: Provider, m: SampleMessage, mailgun?: { timestamp: string; token: string; signature: string }): Sample {
  const date = new Date().toUTCString();
  switch (provider) {
    case "generic":
      return {
        contentType: "application/json",
        body: JSON.stringify({ from: m.from, to: [m.to], cc: [], subject: m.subject, text: m.text, html: m.html, message_id: m.messageId }, null, 2),
      };
    case "postmark":
      return {
        contentType: "application/json",
        body: JSON.stringify(
          {
            From: m.from,
            FromName: nameOf(m.from),
            FromFull: { Email: m.from, Name: nameOf(m.from), MailboxHash: "" },
            To: m.to,
            ToFull: [{ Email: m.to, Name: "", MailboxHash: "" }],
            Cc: "",
            CcFull: [],
            OriginalRecipient: m.to,
            Subject: m.subject,
            MessageID: m.messageId.replace(/^<|>$/g, ""),
            Date: date,
            TextBody: m.text,
            HtmlBody: m.html,
            StrippedTextReply: "",
            Headers: [{ Name: "Message-ID", Value: m.messageId }],
            Attachments: [],
          },
          null,
          2,
        ),
      };
    case "sendgrid":
      return multipart([
        ["from", m.from],
        ["to", m.to],
        ["subject", m.subject],
        ["text", m.text],
        ["html", m.html],
        ["headers", `Message-ID: ${m.messageId}${CRLF}Date: ${date}${CRLF}`],
        ["envelope", JSON.stringify({ to: [m.to], from: m.from })],
        ["charsets", JSON.stringify({ to: "UTF-8", from: "UTF-8", subject: "UTF-8", text: "UTF-8", html: "UTF-8" })],
        ["attachments", "0"],
      ]);
    case "mailgun":
      return multipart([
        ["sender", m.from],
        ["from", m.from],
        ["recipient", m.to],
        ["To", m.to],
        ["subject", m.subject],
        ["body-plain", m.text],
        ["body-html", m.html],
        ["Message-Id", m.messageId],
        ["message-headers", JSON.stringify([["Message-Id", m.messageId], ["Date", date]])],
        ["timestamp", mailgun?.timestamp ?? "1700000000"],
        ["token", mailgun?.token ?? "<random token from Mailgun>"],
        ["signature", mailgun?.signature ?? "<hex HMAC-SHA256 of timestamp+token with your Mailgun signing key>"],
      ]);
    case "mime": {
      const boundary = "switchyard-alt";
      return {
        contentType: "message/rfc822",
        body: [
          `From: ${m.from}`,
          `To: ${m.to}`,
          `Subject: ${m.subject}`,
          `Date: ${date}`,
          `Message-ID: ${m.messageId}`,
          "MIME-Version: 1.0",
          `Content-Type: multipart/alternative; boundary="${boundary}"`,
          "",
          `--${boundary}`,
          "Content-Type: text/plain; charset=utf-8",
          "",
          m.text,
          `--${boundary}`,
          "Content-Type: text/html; charset=utf-8",
          "",
          m.html,
          `--${boundary}--`,
          "",
        ].join(CRLF),
      };
    }
  }
}

/** The example the trigger form shows for a provider. */
export function exampleFor(provider: Provider): Sample {
  return buildSample(provider, {
    from: "alice@example.com",
    to: "support@your-domain.example",
    subject: "Invoice 1042",
    text: "Hello, the invoice is attached.",
    html: "<p>Hello, the invoice is attached.</p>",
    messageId: "<c0ffee@example.com>",
  });
}

/** What the script receives, whichever provider sent it (API.md's `email` event). */
export const EMAIL_EVENT_EXAMPLE = `event.kind === "email"
event.email = {
  from, to[], cc[], subject, text, html,
  message_id, in_reply_to, headers,
  attachments: [{ filename, content_type, size, content_base64 }],
  received_at
}`;
