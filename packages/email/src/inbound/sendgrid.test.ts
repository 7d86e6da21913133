import { describe, expect, test } from "vitest";
import { ANYMAIL_PARSED_EMAIL, encodeMultipart, encodeUrlencoded, expectInboundShape, fixture, fixtureJson, formPoster } from "./test-support.ts";

const SENDGRID_TYPE = "multipart/form-data; boundary=xYzZY";
const sample = (name: string) => fixture(`sendgrid-inbound-parse/${name}`);
const post = formPoster("sendgrid");

describe("sendgrid parsed mode", () => {
  test("SendGrid's own LF-only sample body parses, and each field keeps the exact bytes sent", async () => {
    const { email, raw } = await post({ contentType: SENDGRID_TYPE, body: sample("sendgrid-python-default_data.txt") });
    const fields = fixtureJson("sendgrid-inbound-parse/sendgrid-parsed.json");
    expectInboundShape(email);
    expect(raw).toBeNull();
    expect(email).toMatchObject({
      from: "test@example.com",
      to: ["inbound@inbound.example.com"],
      cc: [],
      // The form's subject field, not the Subject in its `headers` field: the
      // published sample has them differ, and the field is SendGrid's parse.
      subject: "Testing non-raw",
      text: fields.text,
      html: fields.html,
      message_id: null,
      attachments: [],
    });
    expect(email.text).toBe("Hello Twilio SendGrid!\n");
    expect(email.headers.subject).toBe("Inbound Parse Test Data");
    expect(email.headers.from).toBe("Example User <test@example.com>");
  });

  test("the same fields re-encoded as a CRLF multipart body give the same email", async () => {
    const fromSample = await post({ contentType: SENDGRID_TYPE, body: sample("sendgrid-python-default_data.txt") });
    const reencoded = await post(encodeMultipart(fixtureJson("sendgrid-inbound-parse/sendgrid-parsed.json")));
    expect(reencoded.email).toEqual(fromSample.email);
  });

  test("anymail's sample: Message-ID and Cc come from the headers field, three Received headers in order, envelope sender ignored", async () => {
    const { email } = await post(encodeMultipart(fixtureJson("sendgrid-inbound-parse/anymail-sendgrid-parsed.json")));
    expectInboundShape(email);
    expect(email).toMatchObject(ANYMAIL_PARSED_EMAIL);
    expect(email.headers.received?.split("\n")).toEqual([
      "from mail.example.org by mx987654321.sendgrid.net ...",
      "by mail.example.org for <test@inbound.example.com> ...",
      "by 10.10.1.71 with HTTP; Wed, 11 Oct 2017 18:31:04 -0700 (PDT)",
    ]);
    expect(email.headers.from).toBe('"Displayed From" <from+test@example.org>');
    expect(JSON.stringify(email)).not.toContain("envelope-from@example.org");
  });

  test("the captured charsets post decodes each field by its declared charset (cp850, windows-1252, iso-8859-1)", async () => {
    const { email } = await post({ contentType: SENDGRID_TYPE, body: sample("anymail-sendgrid-charsets-capture.multipart") });
    expectInboundShape(email);
    expect(email.from).toBe("sender@example.com");
    expect(email.to).toEqual(["inbound@sg.example.com"]);
    expect(email.subject).toBe("Como usted pidió");
    expect(email.text).toBe("Test the ESP’s inbound charset handling…");
    expect(email.html).toBe("<p>¿Esto se ve como esperabas?</p>");
    // The encoded words in the headers field decode to the same display names.
    expect(email.headers.from).toBe("Opérateur de test <sender@example.com>");
    expect(email.headers.to).toBe("Récipiendaire précieux <inbound@sg.example.com>");
    expect(email.headers.subject).toBe("Como usted pidió");
  });

  test("attachment file parts become attachments, named by attachment-info where the part has no filename", async () => {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    const form = encodeMultipart(
      {
        from: "a@example.com",
        to: "in@example.com",
        subject: "files",
        attachments: "2",
        "attachment-info": JSON.stringify({ attachment1: { filename: "a.txt", type: "text/plain" }, attachment2: { filename: "b.png", type: "image/png" } }),
      },
      [
        { name: "attachment1", filename: "a.txt", contentType: "text/plain", content: Buffer.from("line one\r\nline two\n") },
        { name: "attachment2", filename: "b.png", contentType: "image/png", content: png },
      ],
    );
    const { email } = await post(form);
    expectInboundShape(email);
    expect(email.attachments).toEqual([
      { filename: "a.txt", content_type: "text/plain", size: 19, content_base64: Buffer.from("line one\r\nline two\n").toString("base64") },
      { filename: "b.png", content_type: "image/png", size: png.length, content_base64: png.toString("base64") },
    ]);
    const capped = await post(form, { maxAttachmentBytes: 19 });
    expect(capped.email.attachments.map((a) => a.content_base64 === null)).toEqual([false, true]);
  });
});

describe("sendgrid raw mode", () => {
  test("the email field is parsed as MIME and returned byte-exact as raw, LF endings and all", async () => {
    const { email, raw } = await post({ contentType: SENDGRID_TYPE, body: sample("sendgrid-python-raw_data.txt") });
    const fields = fixtureJson("sendgrid-inbound-parse/sendgrid-raw.json");
    expectInboundShape(email);
    expect(raw?.equals(Buffer.from(fields.email ?? "", "utf8"))).toBe(true);
    expect(email).toMatchObject({ from: "test@example.com", to: ["inbound@inbound.inbound.com"], text: "Hello Twilio SendGrid!\n" });
    // The MIME's own Subject, not the form's hand-edited `subject` field ("Testing with Request.bin").
    expect(email.subject).toBe("Inbound Parse Test Raw Data");
  });

  test("a raw message with a JPEG attachment keeps the image", async () => {
    const { email, raw } = await post({ contentType: SENDGRID_TYPE, body: sample("sendgrid-python-raw_data_with_attachments.txt") });
    expectInboundShape(email);
    expect(raw?.equals(Buffer.from(fixtureJson("sendgrid-inbound-parse/sendgrid-raw-with-attachment.json").email ?? "", "utf8"))).toBe(true);
    expect(email.subject).toBe("Inbound Parse Test Raw Data with Attachment");
    expect(email.attachments).toHaveLength(1);
    expect(email.attachments[0]).toMatchObject({ filename: "SendGrid.jpg", content_type: "image/jpeg" });
    const jpeg = Buffer.from(email.attachments[0]?.content_base64 ?? "", "base64");
    expect(jpeg.subarray(0, 3).toString("hex")).toBe("ffd8ff");
    expect(jpeg.subarray(-2).toString("hex")).toBe("ffd9");
  });

  test("anymail's raw post: its form fields alone (parsed path) and the MIME in `email` (raw path) agree on from, to and subject", async () => {
    const fields = fixtureJson("sendgrid-inbound-parse/anymail-sendgrid-raw.json");
    const rawMode = await post(encodeMultipart(fields));
    const { email: _mime, ...formOnly } = fields;
    const parsedMode = await post(encodeMultipart(formOnly));
    expectInboundShape(rawMode.email);
    expectInboundShape(parsedMode.email);
    expect(rawMode.email.text).toBe("It's a body…\n");
    for (const key of ["from", "to", "subject"] as const) expect(parsedMode.email[key]).toEqual(rawMode.email[key]);
    // A raw-mode post carries the Message-ID only inside the MIME.
    expect(rawMode.email.message_id).toBe("<CAEPk3RKEx@mail.example.org>");
    expect(parsedMode.email.message_id).toBeNull();
  });
});

describe("sendgrid refusals", () => {
  test("refuses urlencoded and JSON bodies with 415, and a body over maxBytes with 413", async () => {
    await expect(post(encodeUrlencoded({ from: "a@example.com" }))).rejects.toMatchObject({ code: "unsupported_media_type", status: 415 });
    await expect(post({ contentType: "application/json", body: Buffer.from("{}") })).rejects.toMatchObject({ status: 415 });
    const body = sample("sendgrid-python-default_data.txt");
    await expect(post({ contentType: SENDGRID_TYPE, body }, { maxBytes: body.length - 1 })).rejects.toMatchObject({ code: "too_large", status: 413 });
  });

  test("refuses a post without a sender, a multipart without a boundary, and more form parts than maxParts", async () => {
    await expect(post(encodeMultipart({ subject: "no sender" }))).rejects.toMatchObject({ code: "invalid_input", details: { field: "from" } });
    await expect(post({ contentType: "multipart/form-data", body: Buffer.from("x") })).rejects.toMatchObject({ code: "invalid_input", status: 400 });
    const fields = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, "x"]));
    await expect(post(encodeMultipart({ from: "a@example.com", ...fields }), { maxParts: 10 })).rejects.toMatchObject({ code: "too_complex", status: 422 });
  });
});
