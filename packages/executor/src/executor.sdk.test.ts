import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const hostFailures: unknown[] = [];
const host = memoryHost({
  app_a: { API_KEY: "sk_live_aaaa1111", CONFIG: { region: "eu", retries: 3 } },
  app_b: { API_KEY: "sk_live_bbbb2222", B_ONLY: "only-b" },
});
const executor = createExecutor({ host, onHostFailure: (error) => hostFailures.push(error) });
afterAll(() => executor.dispose());

describe("secrets", () => {
  test("a script reads its own app's secret through the host and cannot read another app's", async () => {
    const src = `export default async () => ({ key: await secrets.get("API_KEY"), other: await secrets.get("B_ONLY"), names: await secrets.list() });`;
    const a = await executor.run(requestFor(compileForTest(src, { appId: "app_a" })));
    const b = await executor.run(requestFor(compileForTest(src, { appId: "app_b" })));
    expect(a.status).toBe("ok");
    // The result is masked because the run read the value.
    expect(a.result).toEqual({ key: "[secret:API_KEY]", other: null, names: ["API_KEY", "CONFIG"] });
    expect(a.secretsRead).toEqual(["API_KEY"]);
    expect(b.result).toEqual({ key: "[secret:API_KEY]", other: "[secret:B_ONLY]", names: ["API_KEY", "B_ONLY"] });
    expect(host.reads).toContain("app_a/B_ONLY");
    expect(host.reads.filter((r) => r.startsWith("app_a/")).every((r) => !r.includes("app_b"))).toBe(true);
  });

  test("a secret's JSON value arrives as JSON", async () => {
    const out = await executor.run(
      requestFor(compileForTest(`export default async () => { const c = await secrets.get("CONFIG"); return c.region + "/" + c.retries; };`, { appId: "app_a" })),
    );
    expect(out.result).toBe("eu/3");
  });

  test("secrets.get refuses a name that is not a string with code invalid_argument", async () => {
    const out = await executor.run(
      requestFor(compileForTest(`export default async () => { try { await secrets.get(42); } catch (e) { return [e.name, e.code]; } };`, { appId: "app_a" })),
    );
    expect(out.result).toEqual(["TypeError", "invalid_argument"]);
  });
});

describe("email", () => {
  test("email.send and email.sendHtml reach the host with the message as JSON", async () => {
    const src = `export default async () => [
      await email.send({ to: "ops@example.com", subject: "Hi", text: "t" }),
      await email.sendHtml({ to: "a@example.com", subject: "Hi", html: "<p>Hi</p>", text: "Hi" }),
    ];`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_mail" })));
    expect(out.status).toBe("ok");
    expect(host.sent.filter((m) => m.appId === "app_mail").map((m) => m.kind)).toEqual(["text", "html"]);
    expect((out.result as { message_id: string }[])[0]?.message_id).toMatch(/@test>$/);
  });

  test("a host error reaches the script as an Error with its code", async () => {
    const src = `export default async () => { try { await email.send({ to: "nobody", subject: "x", text: "y" }); } catch (e) { return { isError: e instanceof Error, code: e.code, message: e.message }; } };`;
    const out = await executor.run(requestFor(compileForTest(src, { appId: "app_mail" })));
    expect(out.result).toEqual({ isError: true, code: "invalid_address", message: "not an email address: nobody" });
  });

  test("an uncaught host error carries its code into the run error, and retry follows the host's advice", async () => {
    const rejected = await executor.run(requestFor(compileForTest(`export default () => email.send({ to: "nobody", subject: "x", text: "y" });`)));
    expect(rejected.status).toBe("error");
    expect(rejected.error).toMatchObject({ code: "invalid_address", retry: { kind: "no_retry" } });
    const transient = await executor.run(requestFor(compileForTest(`export default () => email.send({ to: "flaky@example.com", subject: "x", text: "y" });`)));
    expect(transient.error).toMatchObject({ code: "smtp_unavailable", retry: { kind: "retry" } });
  });

  test("a host failure that is not a HostError reaches the script as internal_error without its details", async () => {
    const src = `export default async () => { try { await secrets.get("BROKEN"); } catch (e) { return { code: e.code, message: e.message }; } };`;
    const out = await executor.run(requestFor(compileForTest(src)));
    expect(out.result).toMatchObject({ code: "internal_error" });
    expect(JSON.stringify(out)).not.toContain("10.0.0.7");
    expect(String(hostFailures.at(-1))).toContain("10.0.0.7");
  });
});

describe("console", () => {
  test("console methods are collected as log lines, formatted like console", async () => {
    const src = `export default () => {
      console.log("plain", 1, true, null, undefined, 2n);
      console.info({ a: [1, "two"], "b-c": { d: new Date(0) } });
      console.warn(new Map([["k", 1]]), new Set([1]));
      const circular = {}; circular.self = circular;
      console.error(circular);
      console.debug(function named() {}, Symbol("s"));
    };`;
    const out = await executor.run(requestFor(compileForTest(src)));
    expect(out.logs.map((l) => [l.level, l.message])).toEqual([
      ["log", "plain 1 true null undefined 2n"],
      ["info", '{ a: [ 1, "two" ], "b-c": { d: 1970-01-01T00:00:00.000Z } }'],
      ["warn", 'Map(1) { "k" => 1 } Set(1) { 1 }'],
      ["error", "{ self: [Circular] }"],
      ["debug", "[Function: named] Symbol(s)"],
    ]);
    expect(out.logs.every((l) => l.at >= 0)).toBe(true);
  });

  test("logs past logMaxBytes are dropped and the outcome says so", async () => {
    const small = createExecutor({ host, logMaxBytes: 100 });
    try {
      const out = await small.run(requestFor(compileForTest(`export default () => { for (let i = 0; i < 50; i++) console.log("line " + i + " ".repeat(10)); };`)));
      expect(out.logsTruncated).toBe(true);
      expect(out.logs.reduce((n, l) => n + Buffer.byteLength(l.message), 0)).toBeLessThanOrEqual(100);
      expect(out.logs[0]?.message).toBe("line 0          ");
    } finally {
      small.dispose();
    }
  });
});

describe("results", () => {
  test("the handler gets (event, ctx) and its awaited return value is copied out as JSON", async () => {
    const script = compileForTest(`export default async (event, ctx) => ({ kind: event.kind, payload: event.payload, app: ctx.app.id, attempt: ctx.run.attempt, when: new Date(0) });`);
    const out = await executor.run(requestFor(script, { kind: "manual", payload: { n: 1 } }, { attempt: 3 }));
    expect(out).toMatchObject({ status: "ok", result: { kind: "manual", payload: { n: 1 }, app: "app_test", attempt: 3, when: "1970-01-01T00:00:00.000Z" } });
    expect(out.startedAt).toBeInstanceOf(Date);
    expect(out.durationMs).toBeGreaterThan(0);
  });

  test("a result over resultMaxBytes is not stored and the run still succeeds", async () => {
    const small = createExecutor({ host, resultMaxBytes: 1_000 });
    try {
      const out = await small.run(requestFor(compileForTest(`export default () => "x".repeat(2_000);`)));
      expect(out).toMatchObject({ status: "ok", result: null, resultTruncated: true });
    } finally {
      small.dispose();
    }
  });

  test("a return value that is not JSON fails the run without retries", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default () => ({ n: 1n });`)));
    expect(out.status).toBe("error");
    expect(out.error?.retry).toEqual({ kind: "no_retry" });
  });
});

describe("errors", () => {
  test("control-flow errors give the matching retry decision", async () => {
    const cases: [string, unknown][] = [
      [`throw new NonRetryableError("bad input")`, { kind: "no_retry" }],
      [`throw new RetryAfterError("rate limited", 30000)`, { kind: "retry_after", delayMs: 30000 }],
      [`throw new Error("boom")`, { kind: "retry" }],
      [`throw "a string"`, { kind: "retry" }],
    ];
    for (const [statement, retry] of cases) {
      const out = await executor.run(requestFor(compileForTest(`export default async () => { ${statement}; };`)));
      expect(out.status, statement).toBe("error");
      expect(out.error?.retry, statement).toEqual(retry);
      expect(out.error?.code, statement).toBeNull();
    }
  });

  test("the error names the author's class and message", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default () => { throw new NonRetryableError("bad input", { cause: 1 }); };`)));
    expect(out.error).toMatchObject({ name: "NonRetryableError", message: "bad input" });
  });

  test("a stack trace points at the author's lines, without the sandbox's own frames", async () => {
    const src = ["// line 1", "function helper() {", '  throw new Error("deep");', "}", "export default async () => {", "  await null;", "  helper();", "};"].join("\n");
    const out = await executor.run(requestFor(compileForTest(src, { sourceMap: true })));
    const stack = out.error?.stack ?? "";
    expect(stack).toMatch(/^Error: deep/);
    expect(stack).toContain("script.js:3:9");
    expect(stack).toContain("script.js:7:3");
    // Only frames of the author's code remain.
    expect(stack.split("\n").slice(1).every((line) => /script\.js:[2-9]\d*:\d+/.test(line))).toBe(true);
  });

  test("a stack keeps the author's frames around the web runtime's and drops the runtime's own, but keeps a message line naming it", async () => {
    // The callback runs inside the runtime's URLSearchParams.forEach: frames of runtime.js between the author's.
    const src = ["export default () => {", '  new URLSearchParams("a=1").forEach(() => {', '    throw new Error("first\\nsee runtime.js:1:2");', "  });", "};"].join("\n");
    const out = await executor.run(requestFor(compileForTest(src, { sourceMap: true })));
    const lines = (out.error?.stack ?? "").split("\n");
    expect(lines.slice(0, 2)).toEqual(["Error: first", "see runtime.js:1:2"]);
    const frames = lines.slice(2);
    expect(frames.some((line) => line.includes("script.js:3:11"))).toBe(true);
    expect(frames.some((line) => line.includes("script.js:2:"))).toBe(true);
    expect(frames.filter((line) => /runtime\.js|sdk\.js/.test(line))).toEqual([]);
  });

  test("a module whose top level throws fails the run, and its half-loaded context is not reused", async () => {
    const script = compileForTest(`globalThis.loads = (globalThis.loads ?? 0) + 1; throw new Error("load " + globalThis.loads + " fails"); export default () => 1;`);
    const first = await executor.run(requestFor(script));
    const second = await executor.run(requestFor(script));
    expect(first.error).toMatchObject({ message: "load 1 fails", retry: { kind: "retry" } });
    // A reused context would answer "not a function" or "load 2 fails".
    expect(second.error?.message).toBe("load 1 fails");
  });

  test("a default export that is not a function fails without retries", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default 42;`)));
    expect(out.error).toMatchObject({ name: "NonRetryableError", retry: { kind: "no_retry" } });
  });
});
