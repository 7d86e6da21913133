import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// The runtime proper is run in a context on its first touch, after script
// code has had its chance to plant globals and replace builtins (loader.ts).
const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

const run = async (source: string, options: Parameters<typeof compileForTest>[1] = {}) => {
  const out = await executor.run(requestFor(compileForTest(source, options)));
  expect(out.error).toBeNull();
  return out.result;
};

describe("the web runtime's loading", () => {
  test("a script that takes the receiver's name first gets no runtime, and nothing of the runtime reaches its function", async () => {
    const result = await run(`export default () => {
      const got = [];
      Object.defineProperty(globalThis, "__sy_runtime_receive", { value: (...args) => got.push(args.length), configurable: false });
      let error = null;
      try { crypto.randomUUID(); } catch (e) { error = e.name + ": " + e.message; }
      return { error, got };
    };`);
    expect(result).toEqual({ error: "TypeError: the web runtime is not available", got: [] });
  });

  test("an accessor planted under the receiver's name is replaced, never called, and the runtime loads", async () => {
    const result = await run(`export default () => {
      const got = [];
      Object.defineProperty(globalThis, "__sy_runtime_receive", { get() { got.push("get"); return () => {}; }, set(v) { got.push("set"); }, configurable: true });
      const id = crypto.randomUUID();
      return { id: id.length, got, left: Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__sy")) };
    };`);
    expect(result).toEqual({ id: 36, got: [], left: [] });
  });

  test("a script that replaces Object.defineProperty before its first touch never gets the bridge the runtime is handed", async () => {
    const result = await run(`export default async () => {
      const bridges = [];
      const seen = new Set();
      const wrap = (fn) => (...args) => {
        for (const a of args) if (a && typeof a === "object" && typeof a.callSync === "function") bridges.push(a);
        return fn(...args);
      };
      const original = Object.defineProperty;
      Object.defineProperty = function (target, name, descriptor) {
        seen.add(String(name));
        // An export object built with defineProperty: hand out wrapped exports that see their arguments.
        if (descriptor && typeof descriptor.get === "function" && (name === "connect" || name === "install")) {
          const get = descriptor.get;
          descriptor = { ...descriptor, get() { return wrap(get()); } };
        }
        return original(target, name, descriptor);
      };
      const id = crypto.randomUUID();
      const href = new URL("https://Example.com/a/../b").href;
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("x"));
      Object.defineProperty = original;
      return { id: id.length, href, digest: digest.byteLength, bridges: bridges.length, sawConnect: seen.has("connect") };
    };`);
    expect(result).toEqual({ id: 36, href: "https://example.com/b", digest: 32, bridges: 0, sawConnect: false });
  });

  test("contexts of one isolate never share the runtime's objects: what a run changes in them is gone in a fresh context and in another version", async () => {
    const source = `export default (event) => {
      const before = {
        urlProto: typeof URL.prototype.planted,
        cryptoOwn: typeof crypto.planted,
        headersProto: typeof Headers.prototype.planted,
        parse: new URL("https://a.example/x").host,
      };
      if (event.payload.plant) {
        URL.prototype.planted = () => "from an earlier run";
        crypto.planted = 1;
        Headers.prototype.planted = 1;
        const parse = URL.prototype.constructor;
        globalThis.URL = function () { return { host: "hijacked" }; };
        globalThis.URL.prototype = parse.prototype;
      }
      return before;
    };`;
    const fresh = compileForTest(source, { appId: "app_shared", id: "planter", freshContext: true });
    const other = compileForTest(source, { appId: "app_shared", id: "other" });
    const pristine = { urlProto: "undefined", cryptoOwn: "undefined", headersProto: "undefined", parse: "a.example" };
    for (const [script, plant] of [[fresh, true], [fresh, false], [other, false]] as const) {
      const out = await executor.run(requestFor(script, { kind: "manual", payload: { plant } }));
      expect(out.error).toBeNull();
      expect(out.result).toEqual(pristine);
    }
  });
});

describe("a part of the runtime that fails to load", () => {
  test("a module whose first evaluation ran out of stack breaks only the run that saw it: the version's next run gets a new context", async () => {
    // The first touch of AbortController happens deeper and deeper in the
    // stack as the recursion unwinds: at some depth its module starts
    // evaluating and runs out of stack, and a module that threw throws the
    // same error ever after (as ES modules do).
    const script = compileForTest(`export default (event) => {
      typeof TextEncoder;
      let failed = 0;
      if (event.payload.dive) {
        const dive = () => { try { dive(); } catch {} try { typeof AbortController; } catch { failed++; } };
        dive();
      }
      let after;
      try { after = typeof new AbortController().signal; } catch (e) { after = "threw " + e.name; }
      return { failed: failed > 0, after };
    };`);
    const first = await executor.run(requestFor(script, { kind: "manual", payload: { dive: true } }));
    expect(first.result).toEqual({ failed: true, after: "threw RangeError" });
    const second = await executor.run(requestFor(script, { kind: "manual", payload: { dive: false } }));
    expect(second.result).toEqual({ failed: false, after: "object" });
  });
});

describe("fresh contexts made ahead with the runtime a version used", () => {
  // A freshContext version gets a new context per run; the next one is made
  // between runs, with the runtime evaluated and the globals its earlier
  // runs touched already made (app-isolate.ts `prepareSpare`).
  const pause = () => new Promise((resolve) => setTimeout(resolve, 50));
  const describeGlobals = `const kind = (name) => { const d = Object.getOwnPropertyDescriptor(globalThis, name); return d === undefined ? "none" : "value" in d ? "value" : "accessor"; };`;

  test("the names an earlier run touched are ready before the next run's code, the rest still load on touch, and nothing of an earlier run survives", async () => {
    const script = compileForTest(
      `${describeGlobals}
      export default (event) => {
        const before = { URL: kind("URL"), TextEncoder: kind("TextEncoder"), Blob: kind("Blob"), planted: typeof URL.prototype.planted };
        const href = new URL("https://Example.com/a/../b").href;
        const bytes = new TextEncoder().encode("é").length;
        if (event.payload.plant) URL.prototype.planted = 1;
        const d = Object.getOwnPropertyDescriptor(globalThis, "URL");
        return { before, href, bytes, attributes: [d.writable, d.enumerable, d.configurable] };
      };`,
      { appId: "app_prepared", id: "prepared", freshContext: true },
    );
    const results = [];
    for (const plant of [true, true, false]) {
      const out = await executor.run(requestFor(script, { kind: "manual", payload: { plant } }));
      expect(out.error).toBeNull();
      results.push(out.result);
      await pause();
    }
    const common = { href: "https://example.com/b", bytes: 2, attributes: [true, false, true] };
    // The first run found accessors; the later ones found URL and TextEncoder made, Blob (never touched) still an accessor.
    expect(results[0]).toEqual({ ...common, before: { URL: "accessor", TextEncoder: "accessor", Blob: "accessor", planted: "undefined" } });
    for (const later of results.slice(1)) {
      expect(later).toEqual({ ...common, before: { URL: "value", TextEncoder: "value", Blob: "accessor", planted: "undefined" } });
    }
  });

  test("a script that reads a runtime name, then sets it at its top level, keeps its own value in a context made ahead", async () => {
    const script = compileForTest(
      `${describeGlobals}
      const found = kind("URL") + ":" + typeof URL;
      globalThis.URL = "the script's own";
      export default () => ({ found, url: globalThis.URL, id: crypto.randomUUID().length });`,
      { appId: "app_prepared", id: "own_url", freshContext: true },
    );
    const results = [];
    for (let i = 0; i < 3; i++) {
      const out = await executor.run(requestFor(script));
      expect(out.error).toBeNull();
      results.push(out.result);
      await pause();
    }
    // The first run loaded URL on its touch; the later ones found it made ahead, and replaced it all the same.
    expect(results).toEqual([
      { found: "accessor:function", url: "the script's own", id: 36 },
      { found: "value:function", url: "the script's own", id: 36 },
      { found: "value:function", url: "the script's own", id: 36 },
    ]);
  });

  test("performance.now() counts from the run, not from when a context made ahead waited", async () => {
    const script = compileForTest("export default () => ({ now: performance.now(), origin: performance.timeOrigin });", {
      appId: "app_prepared",
      id: "clock",
      freshContext: true,
    });
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      const out = await executor.run(requestFor(script));
      expect(out.error).toBeNull();
      const { now, origin } = out.result as { now: number; origin: number };
      expect(now).toBeLessThan(100);
      expect(origin).toBeGreaterThanOrEqual(before - 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });
});
