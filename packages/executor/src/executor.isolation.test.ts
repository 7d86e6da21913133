import ivm from "isolated-vm";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host } from "./types.ts";

const host = memoryHost({ app_a: { TOKEN: "tok_aaaa1111" }, app_b: { TOKEN: "tok_bbbb2222" } });
const executor = createExecutor({ host });
afterAll(() => executor.dispose());

const SDK_NAMES = ["secrets", "email", "console", "NonRetryableError", "RetryAfterError"];
/** The web runtime's globals (API.md: the WinterTC Minimum Common API), with the classes of its objects. */
const RUNTIME_NAMES = [
  "AbortController", "AbortSignal", "Blob", "Crypto", "CryptoKey", "DOMException", "Event", "EventTarget", "File", "FormData",
  "Headers", "Performance", "Request", "Response", "SubtleCrypto", "TextDecoder", "TextEncoder", "URL", "URLSearchParams",
  "atob", "btoa", "clearInterval", "clearTimeout", "crypto", "fetch", "performance", "queueMicrotask", "self", "setInterval",
  "setTimeout", "structuredClone",
];
const COUNTER = `export default () => { globalThis.count = (globalThis.count ?? 0) + 1; return globalThis.count; };`;

async function resultOf(src: string, options: Parameters<typeof compileForTest>[1] = {}): Promise<unknown> {
  const out = await executor.run(requestFor(compileForTest(src, options)));
  expect(out.error).toBeNull();
  return out.result;
}

describe("context reuse", () => {
  test("with freshContext, globals set in one run are gone in the next", async () => {
    const script = compileForTest(COUNTER, { freshContext: true });
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await executor.run(requestFor(script))).result);
    expect(results).toEqual([1, 1, 1]);
  });

  test("without it, module state persists across runs of one script version", async () => {
    const script = compileForTest(`let n = 0; export default () => ++n;`);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await executor.run(requestFor(script))).result);
    expect(results).toEqual([1, 2, 3]);
  });

  test("no state crosses script versions", async () => {
    const v1 = compileForTest(COUNTER, { id: "script_versions", version: 1 });
    const v2 = compileForTest(COUNTER, { id: "script_versions", version: 2 });
    expect((await executor.run(requestFor(v1))).result).toBe(1);
    expect((await executor.run(requestFor(v1))).result).toBe(2);
    expect((await executor.run(requestFor(v2))).result).toBe(1);
  });

  test("runs of two versions in flight at once each keep their own context and realm", async () => {
    // Eight runs at once in one isolate: each in a context of its version,
    // with eval and new Function working there (V8 refuses them when another
    // context is the one it holds responsible for the call).
    const source = (tag: string) => `export default async (event) => {
      const seen = globalThis.tag;
      globalThis.tag = ${JSON.stringify(tag)};
      const viaEval = eval("1 + event.payload.n");
      const viaFunction = new Function("return typeof process + ':' + typeof secrets")();
      await secrets.list();
      return { seen: seen ?? null, tag: globalThis.tag, viaEval, viaFunction };
    };`;
    const v1 = compileForTest(source("v1"), { id: "script_batched", version: 1 });
    const v2 = compileForTest(source("v2"), { id: "script_batched", version: 2 });
    const runs = Array.from({ length: 8 }, (_, n) => executor.run({ ...requestFor(n % 2 ? v2 : v1), event: { kind: "manual", payload: { n } } }));
    const outcomes = await Promise.all(runs);
    outcomes.forEach((out, n) => {
      expect(out.error).toBeNull();
      const tag = n % 2 ? "v2" : "v1";
      expect(out.result).toMatchObject({ tag, viaEval: 1 + n, viaFunction: "undefined:object" });
      expect([null, tag]).toContain((out.result as { seen: unknown }).seen);
    });
  });

  test("no state crosses apps, even for the same script id and version", async () => {
    const a = compileForTest(COUNTER, { id: "script_shared", appId: "app_a" });
    const b = compileForTest(COUNTER, { id: "script_shared", appId: "app_b" });
    expect((await executor.run(requestFor(a))).result).toBe(1);
    expect((await executor.run(requestFor(a))).result).toBe(2);
    expect((await executor.run(requestFor(b))).result).toBe(1);
  });

  test("apps never share an isolate", async () => {
    const local = createExecutor({ host });
    try {
      await local.run(requestFor(compileForTest(COUNTER, { appId: "app_a" })));
      await local.run(requestFor(compileForTest(COUNTER, { appId: "app_b" })));
      expect(local.stats().isolates).toBe(2);
    } finally {
      local.dispose();
    }
  });

  test("concurrent runs of one version get their own contexts and never see each other's secrets, logs or results", async () => {
    // Each run waits inside secrets.get until both have started, so they overlap.
    const waiting: (() => void)[] = [];
    const gate: Host = {
      ...host,
      async getSecret(ctx) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) for (const release of waiting) release();
        });
        return `secret_of_${ctx.run.id}`;
      },
    };
    const local = createExecutor({ host: gate });
    try {
      const script = compileForTest(`export default async (event, ctx) => { const s = await secrets.get("X"); console.log("run", ctx.run.id, s); return s; };`);
      const [one, two] = [requestFor(script), requestFor(script)];
      const [a, b] = await Promise.all([local.run(one), local.run(two)]);
      expect(a.result).toBe("[secret:X]");
      expect(b.result).toBe("[secret:X]");
      expect(a.logs.map((l) => l.message)).toEqual([`run ${one.ctx.run.id} [secret:X]`]);
      expect(b.logs.map((l) => l.message)).toEqual([`run ${two.ctx.run.id} [secret:X]`]);
      expect(local.stats().contexts).toBe(2);
    } finally {
      local.dispose();
    }
  });
});

describe("the global object", () => {
  test("globalThis holds only the SDK's and the web runtime's names beyond a fresh context's builtins", async () => {
    const isolate = new ivm.Isolate({ memoryLimit: 8 });
    let builtins: string[];
    try {
      const context = await isolate.createContext();
      builtins = JSON.parse(await context.eval("JSON.stringify(Object.getOwnPropertyNames(globalThis))")) as string[];
    } finally {
      isolate.dispose();
    }
    const names = (await resultOf(`export default () => Object.getOwnPropertyNames(globalThis);`)) as string[];
    expect(new Set(names)).toEqual(new Set([...builtins, ...SDK_NAMES, ...RUNTIME_NAMES]));
    expect(names.filter((n) => !builtins.includes(n)).sort()).toEqual([...SDK_NAMES.filter((n) => n !== "console"), ...RUNTIME_NAMES].sort());
    // V8's own console is a builtin; the SDK's replaces it.
    expect(await resultOf(`export default () => Object.keys(console).sort();`)).toEqual(["debug", "error", "info", "log", "warn"]);
  });

  test("the compiled module's global stays private to the wrapper", async () => {
    // The author's own code may see its module variable; the global object may not.
    expect(await resultOf(`export default () => ["__switchyard_module" in globalThis, Object.keys(globalThis)];`)).toEqual([false, []]);
  });
});

describe("escapes", () => {
  test("({}).constructor.constructor('return typeof process')() is 'undefined'", async () => {
    const result = await resultOf(`export default async () => [
      ({}).constructor.constructor("return typeof process")(),
      ({}).constructor.constructor("return typeof require")(),
      await (async () => {}).constructor("return typeof module")(),
      typeof globalThis.process,
      typeof Buffer,
      typeof setImmediate,
    ];`);
    expect(result).toEqual(Array(6).fill("undefined"));
  });

  // Shared by the escape proofs: given any object a trick produced, try to
  // reach the host through its constructor chain; on success, leave a mark
  // on the host's environment (asserted absent below).
  const PROBE = `
    const found = [];
    const probe = (where, x) => {
      try {
        if (x === undefined || x === null) return;
        if (typeof x.applySync === "function" || typeof x.derefInto === "function" || typeof x.copyInto === "function") found.push(where + ":handle");
        const F = x.constructor && x.constructor.constructor;
        if (typeof F !== "function") return;
        found.push(where + ":" + F("if (typeof process === 'object') { process.env.SWITCHYARD_PWNED = '1'; } return typeof process + '/' + typeof require")());
      } catch (e) {
        found.push(where + ":threw");
      }
    };`;

  function assertNothingObtained(found: unknown): void {
    expect(Array.isArray(found)).toBe(true);
    for (const entry of found as string[]) expect(entry).toMatch(/:(undefined\/undefined|threw)$/);
    expect(process.env.SWITCHYARD_PWNED).toBeUndefined();
  }

  test("CVE-2022-36067: a prepareStackTrace hook finds no host frame, function or handle", async () => {
    const found = await resultOf(`${PROBE}
      export default async () => {
        Error.prepareStackTrace = (error, frames) => {
          probe("frames", frames);
          for (const frame of frames) {
            probe("callsite", frame);
            probe("this", frame.getThis());
            probe("function", frame.getFunction());
          }
          return "hooked";
        };
        try { null.x; } catch (e) { e.stack; }
        try { await email.send({ to: "nobody", subject: "x", text: "y" }); } catch (e) { e.stack; }
        try { await secrets.get(1); } catch (e) { e.stack; }
        try { await secrets.get("TOKEN"); } catch (e) {}
        new Error("x").stack;
        (function f() { return arguments.callee.caller; })();
        probe("caller", (function () { return arguments.callee.caller; })());
        return found;
      };`);
    assertNothingObtained(found);
    expect((found as string[]).length).toBeGreaterThan(0);
  });

  test("GHSA-whpj-8f3w-67p5: a Proxy handler on an error's name gets nothing from the sandbox's error handling", async () => {
    // The thrown error is described by the bootstrap after the handler
    // settles; what the trap saw is read back by the next run of the context.
    const script = compileForTest(`${PROBE}
      globalThis.found = found;
      export default async (event) => {
        if (event.read) return globalThis.found;
        const err = new Error("boom");
        err.name = { toString: new Proxy(() => "", { apply(target, thiz, args) { probe("args", args); probe("this", thiz); return "Named"; } }) };
        err.message = { [Symbol.toPrimitive]: new Proxy(() => "m", { apply(target, thiz, args) { probe("hint", args); return "m"; } }) };
        const inspect = Symbol.for("nodejs.util.inspect.custom");
        const lure = { [inspect](depth, options, inspectFn) { probe("options", options); probe("inspect", inspectFn); return "lure"; } };
        console.log(lure, err);
        err.lure = lure;
        throw err;
      };`);
    const thrown = await executor.run(requestFor(script, { kind: "manual" }));
    expect(thrown.status).toBe("error");
    const read = await executor.run(requestFor(script, { kind: "manual", read: true }));
    assertNothingObtained(read.result);
    expect(read.result).toEqual(expect.arrayContaining(["args:undefined/undefined"]));
  });

  test("the Promise species escape (vm2 CVE-2023-37466) gets nothing", async () => {
    const found = await resultOf(`${PROBE}
      export default async () => {
        // The PoC's stack overflow, minus its per-frame Error (which only
        // fills the heap here): the RangeError is made inside the isolate.
        async function overflow() { (function stack() { stack(); })(); }
        const p = overflow();
        p.constructor = {
          [Symbol.species]: class FakePromise {
            constructor(executor) { executor((x) => x, (err) => probe("rejection", err)); }
          },
        };
        p.then();
        // And a global then-override around an SDK call: the callbacks are the sandbox's own.
        const then = Promise.prototype.then;
        Promise.prototype.then = function (onFulfilled, onRejected) {
          probe("promise", this); probe("onFulfilled", onFulfilled); probe("onRejected", onRejected);
          return then.call(this, onFulfilled, onRejected);
        };
        try { await secrets.list(); } finally { Promise.prototype.then = then; }
        await null;
        return found;
      };`);
    assertNothingObtained(found);
    expect(found).toEqual(expect.arrayContaining(["rejection:undefined/undefined"]));
  });

  test("no isolated-vm handle or host object is reachable from the global object", async () => {
    const report = await resultOf(`export default () => {
      const seen = new Set(); const bad = []; const queue = [[globalThis, "globalThis"]];
      while (queue.length > 0 && seen.size < 20000) {
        const [x, path] = queue.shift();
        if ((typeof x !== "object" && typeof x !== "function") || x === null || seen.has(x)) continue;
        seen.add(x);
        for (const name of ["applySync", "applyIgnored", "applySyncPromise", "derefInto", "copyInto"]) {
          try { if (typeof x[name] === "function") bad.push(path + "." + name); } catch {}
        }
        const proto = Object.getPrototypeOf(x);
        if (proto) queue.push([proto, path + ".__proto__"]);
        for (const key of Reflect.ownKeys(x)) {
          const d = Object.getOwnPropertyDescriptor(x, key);
          if (d && "value" in d) queue.push([d.value, path + "." + String(key)]);
        }
      }
      const callers = [];
      for (const fn of [secrets.get, secrets.list, email.send, email.sendHtml, console.log]) {
        try { callers.push(fn.caller === undefined ? "none" : typeof fn.caller); } catch { callers.push("threw"); }
      }
      return { visited: seen.size, bad, callers, ivm: ["ivm", "_ivm", "$0", "__sy_sdk"].filter((n) => n in globalThis) };
    };`);
    expect(report).toMatchObject({ bad: [], ivm: [] });
    expect((report as { visited: number }).visited).toBeGreaterThan(100);
    for (const c of (report as { callers: string[] }).callers) expect(c === "threw" || c === "none").toBe(true);
  });
});
