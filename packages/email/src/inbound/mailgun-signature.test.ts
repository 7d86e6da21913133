import { describe, expect, test } from "vitest";
import { verifyMailgunSignature } from "./mailgun-signature.ts";
import { fixtureJson } from "./test-support.ts";

// Rails' published vector: signed at 2018-10-09 15:15:00 EDT.
const RAILS_KEY = "tbsy84uSV1Kt3ZJZELY2TmShPRs91E3yL4tzf96297vBCkDWgL";

describe("verifyMailgunSignature", () => {
  test("accepts Rails' signed vector at its own time and refuses it 11 minutes later", () => {
    const signed = fixtureJson("mailgun-inbound/rails-mailgun-mime-signed.json");
    const fields = { signingKey: RAILS_KEY, timestamp: signed.timestamp ?? "", token: signed.token ?? "", signature: signed.signature ?? "" };
    expect(verifyMailgunSignature({ ...fields, nowSeconds: 1539112500 })).toBe(true);
    expect(verifyMailgunSignature({ ...fields, nowSeconds: 1539112500 + 11 * 60 })).toBe(false);
    // Within tolerance both ways: a clock 4 minutes behind the sender is fine, 6 is not.
    expect(verifyMailgunSignature({ ...fields, nowSeconds: 1539112500 - 240 })).toBe(true);
    expect(verifyMailgunSignature({ ...fields, nowSeconds: 1539112500 - 360 })).toBe(false);
    expect(verifyMailgunSignature({ ...fields, nowSeconds: 1539112500 + 11 * 60, toleranceSeconds: 3600 })).toBe(true);
  });

  test("refuses Rails' forged vector (another token under the same signature), a wrong key and a tampered timestamp", () => {
    const forged = fixtureJson("mailgun-inbound/rails-mailgun-mime-forged.json");
    const signed = fixtureJson("mailgun-inbound/rails-mailgun-mime-signed.json");
    const now = 1539112500;
    expect(verifyMailgunSignature({ signingKey: RAILS_KEY, timestamp: forged.timestamp ?? "", token: forged.token ?? "", signature: forged.signature ?? "", nowSeconds: now })).toBe(false);
    expect(verifyMailgunSignature({ signingKey: `${RAILS_KEY}x`, timestamp: signed.timestamp ?? "", token: signed.token ?? "", signature: signed.signature ?? "", nowSeconds: now })).toBe(false);
    expect(verifyMailgunSignature({ signingKey: RAILS_KEY, timestamp: "1539112501", token: signed.token ?? "", signature: signed.signature ?? "", nowSeconds: now })).toBe(false);
    expect(verifyMailgunSignature({ signingKey: "", timestamp: signed.timestamp ?? "", token: signed.token ?? "", signature: signed.signature ?? "", nowSeconds: now })).toBe(false);
    expect(verifyMailgunSignature({ signingKey: RAILS_KEY, timestamp: "soon", token: signed.token ?? "", signature: signed.signature ?? "", nowSeconds: now })).toBe(false);
  });

  test("accepts anymail's vector (key TEST_WEBHOOK_SIGNING_KEY) on both its forward and its MIME posts", () => {
    for (const name of ["mailgun-forward.json", "mailgun-forward-mime.json"]) {
      const post = fixtureJson(`mailgun-inbound/${name}`);
      const fields = { signingKey: "TEST_WEBHOOK_SIGNING_KEY", timestamp: post.timestamp ?? "", token: post.token ?? "", signature: post.signature ?? "" };
      expect(verifyMailgunSignature({ ...fields, nowSeconds: 1461261330 })).toBe(true);
      // The 2016 timestamp is long outside the window on a real clock.
      expect(verifyMailgunSignature(fields)).toBe(false);
      expect(verifyMailgunSignature({ ...fields, signature: (post.signature ?? "").toUpperCase(), nowSeconds: 1461261330 })).toBe(true);
    }
  });
});
