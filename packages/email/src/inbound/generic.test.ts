import { describe, expect, test } from "vitest";
import { parseInbound } from "./parse-inbound.ts";
import { expectInboundShape, RECEIVED_AT } from "./test-support.ts";

const post = (body: unknown, contentType = "application/json") =>
  parseInbound("generic", { contentType, body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), receivedAt: RECEIVED_AT });

describe("generic", () => {
  test("API.md's JSON normalises to bare addresses, bracketed Message-ID and headers that keep display names", async () => {
    const { email, raw } = await post({
      from: "Ada Lovelace <ada@example.com>",
      to: ["ops@example.com", "Bob <bob@example.com>"],
      cc: ["cc@example.com"],
      subject: "Engine",
      text: "Hello",
      html: "<p>Hello</p>",
      message_id: "abc@example.com",
    });
    expectInboundShape(email);
    expect(raw).toBeNull();
    expect(email).toEqual({
      from: "ada@example.com",
      to: ["ops@example.com", "bob@example.com"],
      cc: ["cc@example.com"],
      subject: "Engine",
      text: "Hello",
      html: "<p>Hello</p>",
      message_id: "<abc@example.com>",
      in_reply_to: null,
      headers: {
        from: "Ada Lovelace <ada@example.com>",
        to: "ops@example.com, Bob <bob@example.com>",
        cc: "cc@example.com",
        subject: "Engine",
        "message-id": "<abc@example.com>",
      },
      attachments: [],
      received_at: "2026-11-24T12:00:00.000Z",
    });
  });

  test("only from is required: to may be a single string, the rest default to empty", async () => {
    const { email } = await post({ from: "a@example.com", to: "b@example.com, c@example.com" });
    expectInboundShape(email);
    expect(email).toMatchObject({ from: "a@example.com", to: ["b@example.com", "c@example.com"], cc: [], subject: "", text: "", html: "", message_id: null });
  });

  test("refuses bad input with 400 and the field's name", async () => {
    await expect(post({ to: ["b@example.com"] })).rejects.toMatchObject({ code: "invalid_input", status: 400, details: { field: "from" } });
    await expect(post({ from: "not an address" })).rejects.toMatchObject({ code: "invalid_input", details: { field: "from" } });
    await expect(post({ from: "a@example.com", to: [1] })).rejects.toMatchObject({ code: "invalid_input", details: { field: "to[0]" } });
    await expect(post({ from: "a@example.com", cc: ["nobody"] })).rejects.toMatchObject({ code: "invalid_input", details: { field: "cc[0]" } });
    await expect(post({ from: "a@example.com", subject: 7 })).rejects.toMatchObject({ code: "invalid_input", details: { field: "subject" } });
    await expect(post([{ from: "a@example.com" }])).rejects.toMatchObject({ code: "invalid_input", status: 400 });
    await expect(post("{")).rejects.toMatchObject({ code: "invalid_input", status: 400 });
  });

  test("accepts a UTF-8 byte order mark in front of the JSON", async () => {
    const { email } = await post(`\uFEFF${JSON.stringify({ from: "a@example.com", subject: "Grüße" })}`);
    expect(email.subject).toBe("Grüße");
  });

  test("refuses a body that is not JSON by Content-Type with 415, and accepts +json types", async () => {
    await expect(post({ from: "a@example.com" }, "text/plain")).rejects.toMatchObject({ code: "unsupported_media_type", status: 415 });
    await expect(post({ from: "a@example.com" }, "application/vnd.switchyard+json")).resolves.toMatchObject({ email: { from: "a@example.com" } });
  });
});
