import { describe, expect, test } from "vitest";
import { createRedactor, MAX_REDACTED_DEPTH, MIN_MASKED_LENGTH, secretForms, secretLeaves } from "./redact.ts";

const SECRET = "p@ss/w0rd+sk_live?~~>";
const base64 = Buffer.from(SECRET).toString("base64");
const base64url = Buffer.from(SECRET).toString("base64url");

describe("secretForms", () => {
  test("covers the value, its JSON escape, base64 (std and url-safe) and URL-encoded forms", () => {
    const forms = secretForms(SECRET);
    expect(forms).toEqual(expect.arrayContaining([SECRET, base64, base64url, encodeURIComponent(SECRET), "p%40ss%2Fw0rd%2Bsk_live%3F%7E%7E%3E"]));
    expect(base64).not.toBe(base64url);
  });

  test("uses the JSON text of a value that is not a string", () => {
    expect(secretForms({ user: "u", pass: "hunter2" })).toContain('{"user":"u","pass":"hunter2"}');
    expect(secretForms(123456)).toContain("123456");
  });

  test(`skips values shorter than ${MIN_MASKED_LENGTH} characters, booleans and null`, () => {
    expect(secretForms("abc")).toEqual([]);
    expect(secretForms(42)).toEqual([]);
    expect(secretForms(true)).toEqual([]);
    expect(secretForms(null)).toEqual([]);
    expect(secretForms("abcd")).toContain("abcd");
  });
});

describe("secretLeaves", () => {
  test("takes string leaves of four or more characters and number leaves of six or more digits, at any depth", () => {
    const value = { user: "admin", password: "hunter2-pass-word", port: 5432, pin: 12345678, id: "ab", deep: [[{ key: "sk_nested" }], 1234567.5, true, null] };
    expect(secretLeaves(value)).toEqual(["admin", "hunter2-pass-word", 12345678, "sk_nested", 1234567.5]);
  });
});

describe("createRedactor", () => {
  test("masks each field of an object secret in every form, as console.log and a returned field print them", () => {
    const login = { user: "admin", password: "hunter2-pass-word", pin: 12345678, port: 5432 };
    const redact = createRedactor([{ name: "LOGIN", value: login }]);
    const pw = login.password;
    const printed = `{ user: 'admin', password: '${pw}', pin: 12345678, port: 5432 } ${Buffer.from(pw).toString("base64")} ${encodeURIComponent(pw)} ${JSON.stringify(JSON.stringify(pw))}`;
    expect(redact.text(printed)).toBe("{ user: '[secret:LOGIN]', password: '[secret:LOGIN]', pin: [secret:LOGIN], port: 5432 } [secret:LOGIN] [secret:LOGIN] \"\\\"[secret:LOGIN]\\\"\"");
    expect(redact.value({ pw, pin: 12345678, port: 5432 })).toEqual({ pw: "[secret:LOGIN]", pin: "[secret:LOGIN]", port: 5432 });
    // The whole value still masks as one.
    expect(redact.text(JSON.stringify(login))).toBe("[secret:LOGIN]");
  });

  test("masks the items of an array secret", () => {
    const redact = createRedactor([{ name: "KEYS", value: ["key-one-1", ["key-two-2"]] }]);
    expect(redact.text("using key-one-1 then key-two-2")).toBe("using [secret:KEYS] then [secret:KEYS]");
  });

  test("masks every form of a secret in text", () => {
    const redact = createRedactor([{ name: "PW", value: SECRET }]);
    const text = `plain=${SECRET} b64=${base64} url=${base64url} enc=${encodeURIComponent(SECRET)} json=${JSON.stringify({ SECRET })}`;
    const masked = redact.text(text);
    expect(masked).toBe('plain=[secret:PW] b64=[secret:PW] url=[secret:PW] enc=[secret:PW] json={"SECRET":"[secret:PW]"}');
  });

  test("masks the JSON-escaped text of a value with quotes and backslashes", () => {
    const value = 'a"b\\c\nd';
    const redact = createRedactor([{ name: "Q", value }]);
    expect(redact.text(JSON.stringify({ value }))).toBe('{"value":"[secret:Q]"}');
  });

  test("prefers the longest secret and never masks inside a mask", () => {
    const redact = createRedactor([
      { name: "SHORT", value: "secret" },
      { name: "LONG", value: "secret-and-more" },
    ]);
    expect(redact.text("x secret-and-more y secret")).toBe("x [secret:LONG] y [secret:SHORT]");
  });

  test("masks strings, keys, numbers and secret-equal subtrees of a result", () => {
    const creds = { user: "svc", pass: "hunter22" };
    const redact = createRedactor([
      { name: "TOKEN", value: "tok_12345" },
      { name: "PIN", value: 987654 },
      { name: "CREDS", value: creds },
    ]);
    const result = redact.value({ a: ["tok_12345", 987654, 1], tok_12345: true, nested: { creds: { ...creds } }, text: JSON.stringify(creds) });
    expect(result).toEqual({
      a: ["[secret:TOKEN]", "[secret:PIN]", 1],
      "[secret:TOKEN]": true,
      nested: { creds: "[secret:CREDS]" },
      text: "[secret:CREDS]",
    });
  });

  test(`masks a 10,000-deep result without overflowing the stack, replacing what lies below ${MAX_REDACTED_DEPTH} levels`, () => {
    const redact = createRedactor([{ name: "T", value: "tok_12345" }, { name: "O", value: { k: "other-secret" } }]);
    let deep: unknown = "tok_12345";
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    let masked = redact.value({ top: "tok_12345", deep }) as Record<string, unknown>;
    expect(masked.top).toBe("[secret:T]");
    let levels = 0;
    for (masked = masked.deep as Record<string, unknown>; typeof masked === "object"; masked = masked.a as Record<string, unknown>) levels++;
    expect(levels).toBe(MAX_REDACTED_DEPTH - 1);
    expect(masked).toBe("[nested too deep to mask]");
  });

  test("keeps a __proto__ key a key", () => {
    const redact = createRedactor([{ name: "T", value: "tok_12345" }]);
    const out = redact.value(JSON.parse('{"__proto__":{"x":"tok_12345"}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toEqual({ x: "[secret:T]" });
  });

  test("drops a trailing partial secret from text that was cut short", () => {
    const redact = createRedactor([{ name: "K", value: "sk_live_abcdef" }]);
    expect(redact.trimPartial("token=sk_live_ab")).toBe("token=");
    expect(redact.trimPartial("nothing here")).toBe("nothing here");
  });

  test("changes nothing when no secret was read", () => {
    const redact = createRedactor([]);
    expect(redact.empty).toBe(true);
    expect(redact.text("abc")).toBe("abc");
  });
});
