import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { RunOutcome } from "./types.ts";

// Its base64 has "/" and "+", so the url-safe form differs; its URL-encoded form differs too.
const SECRET = "p@ss/w0rd+sk_live?~~>";
const LOGIN = { user: "admin", password: "hunter2-pass-word", pin: 12345678 };
const host = memoryHost({ app_r: { PW: SECRET, CREDS: { user: "svc", pass: "hunter22" }, TINY: "ab", LOGIN } });
const executor = createExecutor({ host });
afterAll(() => executor.dispose());

// Scripts have no btoa or Buffer; this is what an author would paste in.
const BASE64 = `
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function b64(s) {
    const bytes = [...new TextEncoderLike(s)];
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const [a, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
      const n = (a << 16) | (b << 8) | c;
      out += A[(n >> 18) & 63] + A[(n >> 12) & 63] + (i + 1 < bytes.length ? A[(n >> 6) & 63] : "=") + (i + 2 < bytes.length ? A[n & 63] : "=");
    }
    return out;
  }
  function TextEncoderLike(s) { return unescape(encodeURIComponent(s)).split("").map((ch) => ch.charCodeAt(0)); }
  const b64url = (s) => b64(s).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
`;

function everythingStored(out: RunOutcome): string {
  return JSON.stringify({ logs: out.logs, error: out.error, result: out.result });
}

describe("redaction", () => {
  test("a secret printed by console.log is masked in every printed form", async () => {
    const src = `${BASE64}
      export default async () => {
        const pw = await secrets.get("PW");
        console.log(pw);
        console.info("b64", b64(pw), "url-safe", b64url(pw));
        console.warn("encoded", encodeURIComponent(pw), { nested: { pw } });
        console.error(JSON.stringify({ pw }));
      };`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_r" })));
    expect(out.status).toBe("ok");
    expect(out.logs.map((l) => l.message)).toEqual([
      "[secret:PW]",
      "b64 [secret:PW] url-safe [secret:PW]",
      'encoded [secret:PW] { nested: { pw: "[secret:PW]" } }',
      '{"pw":"[secret:PW]"}',
    ]);
    expect(out.secretsRead).toEqual(["PW"]);
  });

  test("a secret thrown in an error is masked in its message and stack", async () => {
    const src = `export default async () => { const pw = await secrets.get("PW"); const e = new Error("login failed for " + pw + " / " + encodeURIComponent(pw)); e.name = "Err" + pw; throw e; };`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_r" })));
    expect(out.status).toBe("error");
    expect(out.error?.message).toBe("login failed for [secret:PW] / [secret:PW]");
    expect(out.error?.name).toBe("Err[secret:PW]");
    expect(out.error?.stack).toContain("[secret:PW]");
    expect(everythingStored(out)).not.toContain(SECRET);
  });

  test("a secret returned plain, base64 and URL-encoded is masked in the stored result", async () => {
    const src = `${BASE64}
      export default async () => {
        const pw = await secrets.get("PW");
        const creds = await secrets.get("CREDS");
        return { plain: pw, base64: b64(pw), urlSafe: b64url(pw), encoded: encodeURIComponent(pw), [pw]: 1, creds, credsText: JSON.stringify(creds) };
      };`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_r" })));
    expect(out.result).toEqual({
      plain: "[secret:PW]",
      base64: "[secret:PW]",
      urlSafe: "[secret:PW]",
      encoded: "[secret:PW]",
      "[secret:PW]": 1,
      creds: "[secret:CREDS]",
      credsText: "[secret:CREDS]",
    });
    const stored = everythingStored(out);
    for (const form of [SECRET, Buffer.from(SECRET).toString("base64"), Buffer.from(SECRET).toString("base64url"), encodeURIComponent(SECRET), "hunter22"]) {
      expect(stored).not.toContain(form);
    }
  });

  test("the fields of an object secret are masked when it is logged with console.log and when one is returned", async () => {
    const src = `${BASE64}
      export default async () => {
        const o = await secrets.get("LOGIN");
        console.log(o);
        console.log("pw", o.password, b64(o.password), encodeURIComponent(o.password), "pin", o.pin);
        return { pw: o.password, pin: o.pin, user: o.user };
      };`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_r" })));
    expect(out.status).toBe("ok");
    expect(out.result).toEqual({ pw: "[secret:LOGIN]", pin: "[secret:LOGIN]", user: "[secret:LOGIN]" });
    expect(out.logs[1]?.message).toBe("pw [secret:LOGIN] [secret:LOGIN] [secret:LOGIN] pin [secret:LOGIN]");
    const stored = everythingStored(out);
    for (const form of ["hunter2-pass-word", Buffer.from("hunter2-pass-word").toString("base64"), "12345678", "admin"]) expect(stored).not.toContain(form);
  });

  test("a secret kept in module state by one run is masked when a later run of the context prints it", async () => {
    const script = compileForTest(`let kept; export default async (event) => { if (event.read) kept = await secrets.get("PW"); else console.log("kept:", kept); return null; };`, {
      appId: "app_r",
    });
    await executor.run(requestFor(script, { kind: "manual", read: true }));
    const later = await executor.run(requestFor(script, { kind: "manual" }));
    expect(later.secretsRead).toEqual([]);
    expect(later.logs.map((l) => l.message)).toEqual(["kept: [secret:PW]"]);
  });

  test("a line cut at the log budget does not keep the start of a secret", async () => {
    const small = createExecutor({ host, logMaxBytes: 40 });
    try {
      // The cut falls in the middle of the secret.
      const src = `export default async () => { const pw = await secrets.get("PW"); console.log("x".repeat(30) + pw); };`;
      const out = await small.run(requestFor(compileForTest(src, { appId: "app_r" })));
      expect(out.logsTruncated).toBe(true);
      expect(out.logs[0]?.message).toBe("x".repeat(30));
    } finally {
      small.dispose();
    }
  });

  test("values shorter than four characters are not masked", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default async () => { const t = await secrets.get("TINY"); console.log("about " + t); return t; };`, { appId: "app_r" })));
    expect(out.result).toBe("ab");
    expect(out.logs[0]?.message).toBe("about ab");
  });
});
