import { verifyWebhook } from "@switchyard/crypto";
import { parseInbound, verifyMailgunSignature } from "@switchyard/email";
import { describe, expect, it } from "vitest";
import { buildSample, exampleFor, PROVIDERS } from "../dashboard/src/email/samples.ts";
import { mailgunSignature, parseSigningSecret, standardWebhookHeaders } from "../dashboard/src/email/sign.ts";

// The dashboard's "send test email" builds each provider's request and signs
// it in the browser (WebCrypto, also in Node). These check both against the
// service's own normalizers and verifiers, so the button and the form's
// "expected request" cannot drift from what the service accepts.

const message = {
  from: "alice@example.com",
  to: "inbox@example.com",
  subject: "Test from the dashboard",
  text: "Hello from the test button.",
  html: "<p>Hello from the test button.</p>",
  messageId: "<c0ffee-1@switchyard.test>",
};

describe("the dashboard's inbound email samples", () => {
  for (const provider of PROVIDERS) {
    it(`builds a ${provider} request that the service's ${provider} normalizer reads back`, async () => {
      const sample = buildSample(provider, message, { timestamp: "1700000000", token: "t".repeat(50), signature: "0".repeat(64) });
      const { email } = await parseInbound(provider, { contentType: sample.contentType, body: Buffer.from(sample.body), receivedAt: new Date() });
      expect(email.from).toBe(message.from);
      expect(email.to).toEqual([message.to]);
      expect(email.subject).toBe(message.subject);
      expect(email.text.trim()).toBe(message.text);
      expect(email.message_id).toMatch(/c0ffee-1@switchyard\.test/);
    });
  }

  it("shows, for every provider, an example the normalizer accepts", async () => {
    for (const provider of PROVIDERS) {
      const sample = exampleFor(provider);
      const { email } = await parseInbound(provider, { contentType: sample.contentType, body: Buffer.from(sample.body), receivedAt: new Date() });
      expect(email.from, provider).toBe("alice@example.com");
    }
  });
});

describe("the dashboard's request signing", () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;

  it("signs with Standard Webhooks headers the service verifies, and not for another body", async () => {
    const key = parseSigningSecret(secret);
    if (!key.ok) throw new Error(key.error);
    const body = buildSample("generic", message).body;
    const headers = await standardWebhookHeaders(key.key, body);
    expect(headers["webhook-signature"]).toMatch(/^v1,/);
    const checked = verifyWebhook({
      secrets: [secret],
      headers: { id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], signature: headers["webhook-signature"] },
      body: new TextEncoder().encode(body),
    });
    expect(checked.ok).toBe(true);
    const tampered = verifyWebhook({
      secrets: [secret],
      headers: { id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], signature: headers["webhook-signature"] },
      body: new TextEncoder().encode(body + " "),
    });
    expect(tampered.ok).toBe(false);
  });

  it("refuses a pasted secret that is not a whsec_ secret, in words", () => {
    expect(parseSigningSecret("sk_live_123")).toEqual({ ok: false, error: "A signing secret starts with whsec_" });
    expect(parseSigningSecret("whsec_***")).toMatchObject({ ok: false });
  });

  it("makes Mailgun's own signature the service verifies", async () => {
    const signed = await mailgunSignature("key-0123456789abcdef");
    expect(verifyMailgunSignature({ signingKey: "key-0123456789abcdef", ...signed })).toBe(true);
    expect(verifyMailgunSignature({ signingKey: "key-other", ...signed })).toBe(false);
  });
});
