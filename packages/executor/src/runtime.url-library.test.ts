import ivm from "isolated-vm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileRuntimeProperSync, makeUrlLibrary } from "./runtime-script.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// Every context of an isolate parses URLs in the isolate's URL library, a
// context of its own (runtime/url-library.ts). Script code gets nothing of
// that context, and could change nothing there if it did.
const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

// The library is made between runs, after a freshContext version's first
// parse (app-isolate.ts); the runs after that parse in it.
beforeAll(async () => {
  const primer = compileForTest(`export default () => new URL("https://example.com/").href;`, { appId: "app_urllib", id: "primer", freshContext: true });
  expect((await executor.run(requestFor(primer))).result).toBe("https://example.com/");
  // Between runs: the event loop turns (a run that never waits for the host settles in microtasks).
  await new Promise((resolve) => setTimeout(resolve, 20));
});

async function result(source: string, freshContext = true): Promise<unknown> {
  const out = await executor.run(requestFor(compileForTest(source, { appId: "app_urllib", id: `s${Math.random()}`, freshContext })));
  expect(out.error).toBeNull();
  return out.result;
}

describe("the isolate's URL library", () => {
  test("what URL and URLSearchParams hand out is of the script's own context", async () => {
    const out = await result(`export default () => {
      const url = new URL("https://user:pw@example.com:8080/a/b?x=1&y=2&x=3#h");
      url.pathname = "/c"; url.search = "?p=1&p=2"; url.searchParams.append("q", "ü");
      const params = new URLSearchParams("a=1&b=2");
      const all = [url.searchParams.getAll("p"), [...url.searchParams], [...url.searchParams][0], [...params.entries()][1], [...params.keys()], params.getAll("a")];
      return { href: url.href, ownArrays: all.every((a) => a instanceof Array && Object.getPrototypeOf(a) === Array.prototype) };
    };`);
    expect(out).toEqual({ href: "https://user:pw@example.com:8080/c?p=1&p=2&q=%C3%BC#h", ownArrays: true });
  });

  test("nothing the script puts on Object.prototype is read with a URL record at hand", async () => {
    const out = await result(`export default () => {
      const seen = [];
      for (const name of ["baseURL", "url", "stateOverride", "encodingOverride"]) {
        Object.defineProperty(Object.prototype, name, { configurable: true, get() { seen.push(name + ":" + Object.keys(this).join("+")); return undefined; } });
      }
      const url = new URL("https://example.com/a");
      url.pathname = "/b"; url.host = "example.org"; url.hash = "x"; url.search = "q=1"; url.protocol = "http";
      return { href: url.href, seen };
    };`);
    expect(out).toEqual({ href: "http://example.org/b?q=1#x", seen: [] });
  });

  test("a script's own objects never reach the library, whatever its builtins answer", async () => {
    // whatwg-url calls methods of its input (input.replace(regexp, "")): an
    // object passed as the input would be handed objects of the library's
    // context, and through them all of its builtins.
    const out = await result(`export default () => {
      const reached = [];
      const spy = (...args) => {
        for (const a of args) if (a !== null && (typeof a === "object" || typeof a === "function") && !(a instanceof Object)) reached.push(String(Object.prototype.toString.call(a)));
        return "https://a.example/";
      };
      const impostor = new Proxy({}, { get: (_t, key) => (key === Symbol.toPrimitive ? undefined : key === "toString" || key === "valueOf" ? () => "https://a.example/" : spy) });
      String.prototype.toWellFormed = function () { return impostor; };
      String.prototype.slice = function () { return impostor; };
      JSON.stringify = () => impostor;
      const errors = [];
      const tries = [
        () => new URL("https://a.example/"), () => URL.canParse("https://a.example/"), () => new URLSearchParams("a=1").toString(),
        () => { const u = new URL("https://a.example/"); u.search = "?q=1"; }, () => { const u = new URL("https://a.example/"); u.username = "me"; },
      ];
      for (const f of tries) { try { f(); } catch (e) { errors.push(e instanceof TypeError); } }
      return { reached, errors };
    };`);
    expect(out).toEqual({ reached: [], errors: [true, true, true, true, true] });
  });

  test("URLs parse in the library: a script's replaced builtins do not change how its own URLs parse, nor a later run's", async () => {
    const polluter = `export default () => {
      Array.prototype.push = function () { return 0; };
      String.prototype.toLowerCase = function () { return "evil"; };
      JSON.stringify = () => "[]";
      return new URL("HTTPS://EXAMPLE.COM/A/./B?c=1").href;
    };`;
    const script = compileForTest(polluter, { appId: "app_urllib", id: "polluter", freshContext: true });
    const first = await executor.run(requestFor(script));
    const second = await executor.run(requestFor(script));
    expect(first.result).toBe("https://example.com/A/B?c=1");
    expect(second.result).toBe("https://example.com/A/B?c=1");
  });

  test("the library's context is frozen: its builtins and the library cannot be changed", () => {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const handles = makeUrlLibrary(isolate, compileRuntimeProperSync(isolate));
      expect(handles).not.toBeNull();
      const frozen = handles!.context.evalSync(`[Object.prototype, Array.prototype, Function.prototype, Error.prototype, RangeError.prototype, String.prototype,
        JSON, Object, Array, globalThis, Intl.Collator.prototype, Object.getPrototypeOf(""[Symbol.iterator]()), Object.getPrototypeOf([][Symbol.iterator]()),
        Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function () {}),
        Object.getPrototypeOf(/a/[Symbol.matchAll]("")), Object.getPrototypeOf(new Intl.Segmenter().segment(""))].every((o) => Object.isFrozen(o))`);
      expect(frozen).toBe(true);
      // No code is made from strings there, by any constructor.
      const refused = handles!.context.evalSync(`[() => Function("return 1")(), () => (function () {}).constructor("return 1")(), () => (function* () {}).constructor("yield 1"),
        () => (async function () {}).constructor("return 1"), () => globalThis.eval("1")].map((f) => { try { f(); return "ran"; } catch (e) { return e instanceof TypeError; } }).join()`);
      expect(refused).toBe("true,true,true,true,true");
      // RegExp's legacy statics would read the last match made there: another run's URL.
      expect(handles!.context.evalSync(`["lastMatch", "input", "$1", "leftContext"].some((name) => name in RegExp)`)).toBe(false);
      // The library answers as before, and still parses non-ASCII hosts (its UTS #46 tables load after the freeze).
      const library = handles!.library as ivm.Reference<Record<string, unknown>>;
      const parse = library.getSync("basicURLParse", { reference: true }) as ivm.Reference<(input: string, options: object) => unknown>;
      const serialize = library.getSync("serializeURL", { reference: true }) as ivm.Reference<(url: unknown) => string>;
      const record = parse.applySync(undefined, ["https://BÜCHER.example/a", new ivm.ExternalCopy({}).copyInto()], { result: { reference: true } }) as unknown as ivm.Reference<unknown>;
      expect(serialize.applySync(undefined, [record.derefInto()])).toBe("https://xn--bcher-kva.example/a");
    } finally {
      isolate.dispose();
    }
  });
});
