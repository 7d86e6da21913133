import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CryptoError } from "./errors.ts";
import { generateWebhookSecret, signWebhook, verifyWebhook, type WebhookHeaders } from "./webhooks.ts";

interface Vectors {
  tolerance_seconds: number;
  sign_vectors: Array<{ secret: string; msg_id: string; timestamp: number; payload: string; expected_signature: string }>;
  accepted_secret_forms: {
    secrets: string[];
    unpadded_base64_secrets_python_only: { cases: Array<{ verifier_secret: string; signer_secret: string }> };
  };
  rejected_secrets: { values: string[] };
  rejected_signature_headers: { values: Array<{ header: string }> };
  multi_signature_header: { template: string[]; composed_for_reference_vector: string };
  timestamp_cases: { reject_non_numeric_header: string };
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/email/standard-webhooks-vectors.json", import.meta.url), "utf8"),
) as Vectors;

const reference = vectors.sign_vectors[0];
if (reference === undefined) throw new Error("fixture has no sign vector");
const { secret, msg_id: id, timestamp, payload } = reference;
const now = timestamp; // the vector is years old: verify it with the clock set to its time

function headers(overrides: WebhookHeaders = {}): WebhookHeaders {
  return { id, timestamp: String(timestamp), signature: reference!.expected_signature, ...overrides };
}

describe("signWebhook", () => {
  it("reproduces every Standard Webhooks sign vector", () => {
    for (const vector of vectors.sign_vectors) {
      expect(signWebhook(vector.secret, vector.msg_id, vector.timestamp, vector.payload)).toBe(vector.expected_signature);
    }
  });

  it("signs a body given as bytes the same as the same body given as a string", () => {
    expect(signWebhook(secret, id, timestamp, Buffer.from(payload, "utf8"))).toBe(reference.expected_signature);
  });

  it.each(vectors.rejected_secrets.values)("refuses the secret %j", (bad) => {
    expect(() => signWebhook(bad, id, timestamp, payload)).toThrow(CryptoError);
  });

  it.each([1.5, -1, Number.NaN])("refuses the timestamp %d", (bad) => {
    expect(() => signWebhook(secret, id, bad, payload)).toThrow(RangeError);
  });
});

describe("verifyWebhook", () => {
  it("verifies the reference vector with the secret given with or without whsec_", () => {
    for (const form of vectors.accepted_secret_forms.secrets) {
      expect(verifyWebhook({ secrets: [form], headers: headers(), body: payload, now })).toEqual({
        ok: true,
        value: { id, timestamp },
      });
    }
  });

  it("verifies signatures made with padded secrets when given the unpadded form", () => {
    for (const { verifier_secret, signer_secret } of vectors.accepted_secret_forms.unpadded_base64_secrets_python_only.cases) {
      const signature = signWebhook(signer_secret, id, timestamp, payload);
      const result = verifyWebhook({ secrets: [verifier_secret], headers: headers({ signature }), body: payload, now });
      expect(result.ok, verifier_secret).toBe(true);
    }
  });

  it("verifies the raw body given as bytes", () => {
    expect(verifyWebhook({ secrets: [secret], headers: headers(), body: new TextEncoder().encode(payload), now }).ok).toBe(true);
  });

  it("verifies a header listing several signatures when one of them is valid", () => {
    const signature = vectors.multi_signature_header.template
      .map((entry) => (entry === "VALID" ? reference.expected_signature : entry))
      .join(" ");
    expect(signature).toBe(vectors.multi_signature_header.composed_for_reference_vector);
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: payload, now }).ok).toBe(true);
  });

  it("ignores entries of other versions, even when they carry the valid signature", () => {
    const mac = reference.expected_signature.slice("v1,".length);
    for (const signature of [`v2,${mac}`, `v1a,${mac}`, mac]) {
      expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: payload, now })).toEqual({
        ok: false,
        error: "invalid_signature",
      });
    }
  });

  it.each(vectors.rejected_signature_headers.values.map((v) => v.header))("rejects the signature header %j", (signature) => {
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: payload, now })).toEqual({
      ok: false,
      error: "invalid_signature",
    });
  });

  it("rejects a partial signature (the valid header cut to 8 characters)", () => {
    const signature = reference.expected_signature.slice(0, 8);
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: payload, now })).toEqual({
      ok: false,
      error: "invalid_signature",
    });
  });

  it("rejects a tampered body, a changed id and a changed timestamp", () => {
    const tampered = payload.replace("2432232314", "2432232315");
    expect(verifyWebhook({ secrets: [secret], headers: headers(), body: tampered, now })).toEqual({ ok: false, error: "invalid_signature" });
    expect(verifyWebhook({ secrets: [secret], headers: headers({ id: `${id}x` }), body: payload, now })).toEqual({
      ok: false,
      error: "invalid_signature",
    });
    expect(verifyWebhook({ secrets: [secret], headers: headers({ timestamp: String(timestamp + 1) }), body: payload, now })).toEqual({
      ok: false,
      error: "invalid_signature",
    });
  });

  it("compares the body as raw bytes, so a re-serialized body fails", () => {
    const reserialized = JSON.stringify(JSON.parse(payload));
    expect(reserialized).not.toBe(payload);
    expect(verifyWebhook({ secrets: [secret], headers: headers(), body: reserialized, now })).toEqual({ ok: false, error: "invalid_signature" });
  });

  it("verifies bodies that are not valid UTF-8 byte for byte", () => {
    const body = new Uint8Array([0xff, 0xfe, 0x00, 0xc3]);
    const signature = signWebhook(secret, id, timestamp, body);
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body, now }).ok).toBe(true);
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: new Uint8Array([0xff, 0xfe, 0x00, 0xc4]), now }).ok).toBe(false);
  });

  it("verifies an empty body with a valid signature", () => {
    const signature = signWebhook(secret, id, timestamp, "");
    expect(verifyWebhook({ secrets: [secret], headers: headers({ signature }), body: "", now }).ok).toBe(true);
  });

  it("rejects a message signed with another secret", () => {
    const otherSecret = generateWebhookSecret();
    expect(verifyWebhook({ secrets: [otherSecret], headers: headers(), body: payload, now })).toEqual({ ok: false, error: "invalid_signature" });
  });

  it("accepts any of several secrets, for rotation", () => {
    const newSecret = generateWebhookSecret();
    expect(verifyWebhook({ secrets: [newSecret, secret], headers: headers(), body: payload, now }).ok).toBe(true);
    const signature = signWebhook(newSecret, id, timestamp, payload);
    expect(verifyWebhook({ secrets: [newSecret, secret], headers: headers({ signature }), body: payload, now }).ok).toBe(true);
  });

  it("rejects timestamps more than the tolerance in the past or future, and accepts the edges", () => {
    const tolerance = vectors.tolerance_seconds;
    const at = (clock: number) => verifyWebhook({ secrets: [secret], headers: headers(), body: payload, now: clock });
    expect(at(timestamp + tolerance + 1)).toEqual({ ok: false, error: "timestamp_too_old" });
    expect(at(timestamp - tolerance - 1)).toEqual({ ok: false, error: "timestamp_too_new" });
    expect(at(timestamp + tolerance).ok).toBe(true);
    expect(at(timestamp - tolerance).ok).toBe(true);
  });

  it("honours a custom tolerance", () => {
    const result = verifyWebhook({ secrets: [secret], headers: headers(), body: payload, now: timestamp + 61, toleranceSeconds: 60 });
    expect(result).toEqual({ ok: false, error: "timestamp_too_old" });
  });

  it("uses the clock when no time is given, so the years-old vector is stale", () => {
    expect(verifyWebhook({ secrets: [secret], headers: headers(), body: payload })).toEqual({ ok: false, error: "timestamp_too_old" });
    const fresh = Math.floor(Date.now() / 1000);
    const signature = signWebhook(secret, id, fresh, payload);
    expect(verifyWebhook({ secrets: [secret], headers: headers({ timestamp: String(fresh), signature }), body: payload }).ok).toBe(true);
  });

  it.each([vectors.timestamp_cases.reject_non_numeric_header, "161426533.0", "-161426533", " 1614265330", "1e9", "0x10"])(
    "rejects the timestamp header %j as invalid_timestamp",
    (bad) => {
      expect(verifyWebhook({ secrets: [secret], headers: headers({ timestamp: bad }), body: payload, now })).toEqual({
        ok: false,
        error: "invalid_timestamp",
      });
    },
  );

  it.each(["id", "timestamp", "signature"] as const)("rejects a message whose %s header is missing, null or empty", (name) => {
    for (const value of [undefined, null, ""]) {
      const incomplete = { ...headers(), [name]: value };
      expect(verifyWebhook({ secrets: [secret], headers: incomplete, body: payload, now })).toEqual({ ok: false, error: "missing_headers" });
    }
  });

  it("fails closed on no secrets or any unusable secret", () => {
    const cases = [[], [""], ["whsec_"], ["whsec_not base64!"], [secret, "whsec_"]];
    for (const secrets of cases) {
      expect(verifyWebhook({ secrets, headers: headers(), body: payload, now }), JSON.stringify(secrets)).toEqual({
        ok: false,
        error: "invalid_secret",
      });
    }
  });
});

describe("generateWebhookSecret", () => {
  it("gives whsec_ and base64 of 24 fresh random bytes, usable for signing and verifying", () => {
    const fresh = generateWebhookSecret();
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(fresh.slice("whsec_".length), "base64").length).toBe(24);
    expect(generateWebhookSecret()).not.toBe(fresh);
    const signature = signWebhook(fresh, id, timestamp, payload);
    expect(verifyWebhook({ secrets: [fresh], headers: headers({ signature }), body: payload, now }).ok).toBe(true);
  });
});
