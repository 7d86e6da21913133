import { describe, expect, test } from "vitest";
import { INBOUND_PROVIDERS, parseInbound } from "./index.ts";
import type { InboundEmail, InboundProvider, ParsedInbound } from "./index.ts";
import { encodeMultipart, encodeUrlencoded, expectInboundShape, fixture, fixtureJson, RECEIVED_AT } from "./test-support.ts";

interface Sample {
  name: string;
  provider: InboundProvider;
  input: () => { contentType: string; body: Buffer };
  /** The normalised fields SOURCES.md lets us assert for this sample. */
  expected: Partial<InboundEmail>;
  hasRaw: boolean;
}

const json = (path: string) => () => ({ contentType: "application/json", body: fixture(path) });
const sendgridBody = (path: string) => () => ({ contentType: "multipart/form-data; boundary=xYzZY", body: fixture(`sendgrid-inbound-parse/${path}`) });

// Every provider's published sample, each through its real encoding.
const SAMPLES: Sample[] = [
  {
    name: "generic JSON",
    provider: "generic",
    input: () => ({ contentType: "application/json", body: Buffer.from(JSON.stringify({ from: "A <a@example.com>", to: ["b@example.com"], subject: "Hi", message_id: "<g1@example.com>" })) }),
    expected: { from: "a@example.com", to: ["b@example.com"], subject: "Hi", message_id: "<g1@example.com>" },
    hasRaw: false,
  },
  {
    name: "Postmark documented sample",
    provider: "postmark",
    input: json("postmark-inbound.json"),
    expected: { from: "support@postmarkapp.com", to: ["yourhash+SampleHash@inbound.postmarkapp.com"], subject: "Test subject", message_id: null },
    hasRaw: false,
  },
  {
    name: "Postmark Check payload",
    provider: "postmark",
    input: json("postmark-inbound-check-payload.json"),
    expected: { from: "support@postmarkapp.com", to: ["mailbox+SampleHash@inbound.postmarkapp.com"], subject: "Test subject" },
    hasRaw: false,
  },
  {
    name: "Postmark Check payload with RawEmail",
    provider: "postmark",
    input: json("postmark-inbound-check-payload-with-raw.json"),
    expected: { from: "support@postmarkapp.com", to: ["mailbox+SampleHash@inbound.postmarkapp.com"], subject: "Test subject" },
    hasRaw: true,
  },
  {
    name: "SendGrid parsed sample",
    provider: "sendgrid",
    input: sendgridBody("sendgrid-python-default_data.txt"),
    expected: { from: "test@example.com", to: ["inbound@inbound.example.com"], subject: "Testing non-raw" },
    hasRaw: false,
  },
  {
    name: "SendGrid raw sample",
    provider: "sendgrid",
    input: sendgridBody("sendgrid-python-raw_data.txt"),
    expected: { from: "test@example.com", to: ["inbound@inbound.inbound.com"], subject: "Inbound Parse Test Raw Data" },
    hasRaw: true,
  },
  {
    name: "SendGrid raw sample with attachment",
    provider: "sendgrid",
    input: sendgridBody("sendgrid-python-raw_data_with_attachments.txt"),
    expected: { from: "test@example.com", subject: "Inbound Parse Test Raw Data with Attachment" },
    hasRaw: true,
  },
  {
    name: "SendGrid charsets capture",
    provider: "sendgrid",
    input: sendgridBody("anymail-sendgrid-charsets-capture.multipart"),
    expected: { from: "sender@example.com", to: ["inbound@sg.example.com"], subject: "Como usted pidió", html: "<p>¿Esto se ve como esperabas?</p>" },
    hasRaw: false,
  },
  {
    name: "anymail SendGrid parsed",
    provider: "sendgrid",
    input: () => encodeMultipart(fixtureJson("sendgrid-inbound-parse/anymail-sendgrid-parsed.json")),
    expected: { from: "from+test@example.org", cc: ["cc@example.com"], message_id: "<CAEPk3R+4Zr@mail.example.org>" },
    hasRaw: false,
  },
  {
    name: "anymail SendGrid raw",
    provider: "sendgrid",
    input: () => encodeMultipart(fixtureJson("sendgrid-inbound-parse/anymail-sendgrid-raw.json")),
    expected: { from: "test@example.org", subject: "Raw MIME test", message_id: "<CAEPk3RKEx@mail.example.org>" },
    hasRaw: true,
  },
  {
    name: "anymail Mailgun forward (urlencoded)",
    provider: "mailgun",
    input: () => encodeUrlencoded(fixtureJson("mailgun-inbound/mailgun-forward.json")),
    expected: { from: "from+test@example.org", cc: ["cc@example.com"], message_id: "<CAEPk3R+4Zr@mail.example.org>" },
    hasRaw: false,
  },
  {
    name: "anymail Mailgun MIME (multipart)",
    provider: "mailgun",
    input: () => encodeMultipart(fixtureJson("mailgun-inbound/mailgun-forward-mime.json")),
    expected: { from: "test@example.org", subject: "Raw MIME test", message_id: "<CAEPk3RKEx@mail.example.org>" },
    hasRaw: true,
  },
  {
    name: "Rails Mailgun MIME",
    provider: "mailgun",
    input: () => encodeUrlencoded(fixtureJson("mailgun-inbound/rails-mailgun-mime-signed.json")),
    expected: { from: "jason@37signals.com", message_id: "<0CB459E0-0336-41DA-BC88-E6E28C697DDB@37signals.com>" },
    hasRaw: true,
  },
  ...[
    "01-plain-text.eml",
    "02-alternative-text-html.eml",
    "03-mixed-attachments.eml",
    "04-attachment-pdf.eml",
    "05-iso-2022-jp-b-encoded-subject.eml",
    "06-iso-8859-4-related-inline-image.eml",
    "07-mime-torture-nested.eml",
    "08-malformed-html-entity-boundary.eml",
    "09-iso-8859-1-unquoted-illegal-boundary.eml",
    "10-invalid-utf8-iso-8859-2-8bit.eml",
  ].map(
    (file): Sample => ({ name: `MIME ${file}`, provider: "mime", input: () => ({ contentType: "message/rfc822", body: fixture(`mime/${file}`) }), expected: {}, hasRaw: true }),
  ),
];

/** What a value is, for comparing shapes: every provider must give the same one per key. */
function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const parse = (sample: Sample): Promise<ParsedInbound> => parseInbound(sample.provider, { ...sample.input(), receivedAt: RECEIVED_AT });

describe("every provider normalises to one shape", () => {
  test("every provider name is a sample here", () => {
    expect(new Set(SAMPLES.map((s) => s.provider))).toEqual(new Set(INBOUND_PROVIDERS));
  });

  test.each(SAMPLES.map((sample) => [sample.name, sample] as const))("%s passes the shape check and gives its documented fields", async (_name, sample) => {
    const { email, raw } = await parse(sample);
    expectInboundShape(email);
    expect(email).toMatchObject(sample.expected);
    expect(raw !== null).toBe(sample.hasRaw);
  });

  test("all samples agree on the kind of every key (ids may be null)", async () => {
    const shapes = new Set<string>();
    for (const sample of SAMPLES) {
      const { email } = await parse(sample);
      const shape = Object.entries(email)
        .map(([key, value]) => `${key}:${key === "message_id" || key === "in_reply_to" ? (value === null ? "string" : kind(value)) : kind(value)}`)
        .sort()
        .join(",");
      shapes.add(shape);
    }
    expect([...shapes]).toHaveLength(1);
  });
});

describe("where a sample carries the raw MIME too, the fields and the raw agree", () => {
  const agree = async (parsed: ParsedInbound, keys: readonly (keyof InboundEmail)[]) => {
    expect(parsed.raw).not.toBeNull();
    const fromRaw = await parseInbound("mime", { contentType: "message/rfc822", body: parsed.raw ?? Buffer.alloc(0), receivedAt: RECEIVED_AT });
    for (const key of keys) expect({ [key]: fromRaw.email[key] }).toEqual({ [key]: parsed.email[key] });
  };

  test("Postmark: the JSON fields and RawEmail", async () => {
    await agree(await parseInbound("postmark", { ...json("postmark-inbound-check-payload-with-raw.json")(), receivedAt: RECEIVED_AT }), ["from", "to", "subject", "message_id"]);
  });

  test("SendGrid raw mode: the MIME in `email` and the form's from and to (SendGrid's published sample edited its subject field)", async () => {
    const fields = fixtureJson("sendgrid-inbound-parse/sendgrid-raw.json");
    const raw = await parseInbound("sendgrid", { ...sendgridBody("sendgrid-python-raw_data.txt")(), receivedAt: RECEIVED_AT });
    await agree(raw, ["from", "to", "subject", "message_id"]);
    const { email: _mime, ...formOnly } = fields;
    const parsed = await parseInbound("sendgrid", { ...encodeMultipart(formOnly), receivedAt: RECEIVED_AT });
    expect(parsed.email.from).toBe(raw.email.from);
    expect(parsed.email.to).toEqual(raw.email.to);
    expect(parsed.email.subject).toBe("Testing with Request.bin");
    expect(raw.email.subject).toBe("Inbound Parse Test Raw Data");
  });

  test("Mailgun body-mime: parseInbound's email is the raw's, and the post's recipient is its To", async () => {
    const fields = fixtureJson("mailgun-inbound/mailgun-forward-mime.json");
    const parsed = await parseInbound("mailgun", { ...encodeUrlencoded(fields), receivedAt: RECEIVED_AT });
    await agree(parsed, ["from", "to", "cc", "subject", "text", "html", "message_id", "headers", "attachments"]);
    expect(parsed.email.to).toEqual([fields.recipient]);
  });
});

describe("parseInbound", () => {
  test("the mime provider needs message/rfc822 (415 otherwise) and returns the body as raw", async () => {
    const body = fixture("mime/01-plain-text.eml");
    const parsed = await parseInbound("mime", { contentType: "message/rfc822", body, receivedAt: RECEIVED_AT });
    expect(parsed.raw).toBe(body);
    expect(parsed.mailgun).toBeUndefined();
    await expect(parseInbound("mime", { contentType: "text/plain", body, receivedAt: RECEIVED_AT })).rejects.toMatchObject({ code: "unsupported_media_type", status: 415 });
  });

  test("any provider refuses a body over maxBytes with 413 before reading it", async () => {
    for (const provider of INBOUND_PROVIDERS) {
      await expect(parseInbound(provider, { contentType: "application/json", body: Buffer.alloc(101), receivedAt: RECEIVED_AT }, { maxBytes: 100 })).rejects.toMatchObject({
        name: "InboundError",
        code: "too_large",
        status: 413,
      });
    }
  });
});
