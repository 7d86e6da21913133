import { describe, expect, test } from "vitest";
import { parseInbound } from "./parse-inbound.ts";
import { expectInboundShape, fixture, RECEIVED_AT } from "./test-support.ts";

const post = (body: Buffer | string, limits = {}) =>
  parseInbound("postmark", { contentType: "application/json; charset=utf-8", body: Buffer.isBuffer(body) ? body : Buffer.from(body), receivedAt: RECEIVED_AT }, limits);

const ATTACHMENT_TEXT = "This is attachment contents, base-64 encoded.";

describe("postmark", () => {
  test("the documented sample: bare addresses from FromFull/ToFull/CcFull, no RFC Message-ID, headers from the list and the fields", async () => {
    const { email, raw } = await post(fixture("postmark-inbound.json"));
    expectInboundShape(email);
    expect(raw).toBeNull();
    expect(email).toMatchObject({
      from: "support@postmarkapp.com",
      to: ["yourhash+SampleHash@inbound.postmarkapp.com"],
      // CcFull is clean where the published Cc string has a stray '>'.
      cc: ["firstcc@postmarkapp.com", "secondCc@postmarkapp.com"],
      subject: "Test subject",
      text: "This is a test text body.",
      html: "<html><body><p>This is a test html body.</p></body></html>",
      // MessageID is Postmark's own id, not the RFC Message-ID.
      message_id: null,
      in_reply_to: null,
    });
    expect(email.headers).toMatchObject({
      "x-spam-score": "-0.1",
      "x-spam-status": "No",
      "x-header-test": "",
      from: "Postmarkapp Support <support@postmarkapp.com>",
      to: '"Firstname Lastname" <yourhash+SampleHash@inbound.postmarkapp.com>',
      date: "Fri, 1 Aug 2014 16:45:32 -04:00",
    });
    expect(JSON.stringify(email)).not.toContain("73e6d360-66eb-11e1-8e72-a8904824019b");
    expect(email.attachments).toEqual([
      { filename: "test.txt", content_type: "text/plain", size: 45, content_base64: Buffer.from(ATTACHMENT_TEXT).toString("base64") },
    ]);
  });

  test("the dashboard's Check payload carries attachments as Data instead of Content, and both read the same", async () => {
    const { email } = await post(fixture("postmark-inbound-check-payload.json"));
    expectInboundShape(email);
    expect(email.to).toEqual(["mailbox+SampleHash@inbound.postmarkapp.com"]);
    expect(email.attachments).toHaveLength(1);
    expect(Buffer.from(email.attachments[0]?.content_base64 ?? "", "base64").toString("utf8")).toBe(ATTACHMENT_TEXT);
  });

  test("RawEmail becomes raw, and parsing it agrees with the fields on from, to, subject and message_id", async () => {
    const body = fixture("postmark-inbound-check-payload-with-raw.json");
    const { email, raw } = await post(body);
    const rawEmail = (JSON.parse(body.toString("utf8")) as { RawEmail: string }).RawEmail;
    expect(raw?.toString("utf8")).toBe(rawEmail);
    const fromRaw = await parseInbound("mime", { contentType: "message/rfc822", body: raw ?? Buffer.alloc(0), receivedAt: RECEIVED_AT });
    for (const key of ["from", "to", "subject", "message_id"] as const) expect(fromRaw.email[key]).toEqual(email[key]);
  });

  test("the RFC Message-ID and In-Reply-To come from the Headers list", async () => {
    const body = JSON.stringify({
      FromFull: { Email: "a@example.com", Name: "A" },
      ToFull: [{ Email: "in@example.com" }],
      Subject: "Re: hi",
      MessageID: "postmark-own-id",
      Headers: [
        { Name: "Message-ID", Value: "<new@example.com>" },
        { Name: "In-Reply-To", Value: "<old@example.com>" },
      ],
    });
    const { email } = await post(body);
    expect(email.message_id).toBe("<new@example.com>");
    expect(email.in_reply_to).toBe("<old@example.com>");
    expect(email.cc).toEqual([]);
    expect(email.attachments).toEqual([]);
  });

  test("the attachment cap drops content but keeps the size", async () => {
    const { email } = await post(fixture("postmark-inbound.json"), { maxAttachmentBytes: 44 });
    expect(email.attachments).toEqual([{ filename: "test.txt", content_type: "text/plain", size: 45, content_base64: null }]);
  });

  test("refuses a missing From (400 naming the field), a malformed field, and a non-JSON content type (415)", async () => {
    await expect(post(JSON.stringify({ ToFull: [{ Email: "in@example.com" }] }))).rejects.toMatchObject({ code: "invalid_input", status: 400, details: { field: "From" } });
    await expect(post(JSON.stringify({ From: "a@example.com", Attachments: [{ Name: 5 }] }))).rejects.toMatchObject({
      code: "invalid_input",
      details: { field: "Attachments[0].Name" },
    });
    await expect(post("{not json")).rejects.toMatchObject({ code: "invalid_input", status: 400 });
    await expect(parseInbound("postmark", { contentType: "text/plain", body: fixture("postmark-inbound.json"), receivedAt: RECEIVED_AT })).rejects.toMatchObject({
      code: "unsupported_media_type",
      status: 415,
    });
  });
});
