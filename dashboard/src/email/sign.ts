// Request signing done in the browser with WebCrypto, so "send test email"
// can reach a signed trigger exactly as a provider would.

const encoder = new TextEncoder();

function base64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(key: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, message);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type SecretCheck = { ok: true; key: Uint8Array<ArrayBuffer> } | { ok: false; error: string };

/** A `whsec_<base64>` secret's key bytes, or why the text is not one. */
export function parseSigningSecret(secret: string): SecretCheck {
  const trimmed = secret.trim();
  if (!trimmed.startsWith("whsec_")) return { ok: false, error: "A signing secret starts with whsec_" };
  try {
    const key = fromBase64(trimmed.slice("whsec_".length));
    if (key.length < 16) return { ok: false, error: "That signing secret is too short" };
    return { ok: true, key };
  } catch {
    return { ok: false, error: "The part after whsec_ is not base64" };
  }
}

/**
 * Standard Webhooks headers for `body`: `webhook-signature` is
 * `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
 * secret's base64 part decoded.
 *
 * @example
 * const headers = await standardWebhookHeaders(key, JSON.stringify(payload));
 * await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
 */
export async function standardWebhookHeaders(key: Uint8Array<ArrayBuffer>, body: Uint8Array | string, now = Date.now()): Promise<Record<string, string>> {
  const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  const timestamp = String(Math.floor(now / 1000));
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const signature = await hmac(key, concat(encoder.encode(`${id}.${timestamp}.`), bytes));
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${base64(signature)}` };
}

/** Mailgun's own webhook signature: hex HMAC-SHA256 of timestamp + token with the Mailgun signing key. */
export async function mailgunSignature(signingKey: string, now = Date.now()): Promise<{ timestamp: string; token: string; signature: string }> {
  const timestamp = String(Math.floor(now / 1000));
  const token = hex(crypto.getRandomValues(new Uint8Array(25)).buffer);
  const signature = hex(await hmac(encoder.encode(signingKey), encoder.encode(timestamp + token)));
  return { timestamp, token, signature };
}
