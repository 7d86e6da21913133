import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// The sandbox's URL and URLSearchParams are our own classes over whatwg-url's
// parser (runtime/url-classes.ts). The WPT vectors (runtime.url.test.ts)
// check parsing and setters; this checks the API around them, with Node's
// own URL and URLSearchParams as the oracle: the same probe runs in both.
const PROBE = `() => {
  const out = {};
  const attempt = (name, f) => { try { out[name] = f(); } catch (e) { out[name] = "throws " + e.name; } };
  const u = new URL("https://user:pw@Example.com:8080/a/b?x=1&y=2#frag");
  attempt("components", () => [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash]);
  attempt("sameParams", () => u.searchParams === u.searchParams);
  attempt("paramsToUrl", () => { u.searchParams.append("z", "a b"); u.searchParams.delete("x"); return u.href; });
  attempt("urlToParams", () => { u.search = "?k=v&k=w"; return [...u.searchParams]; });
  attempt("hrefResetsParams", () => { u.href = "http://h/?m=1"; return u.searchParams.get("m"); });
  attempt("emptySearchDropsQuestionMark", () => { u.searchParams.delete("m"); return u.href; });
  attempt("paramsFirstUsedAfterSetters", () => {
    const v = new URL("http://h/?a=1");
    v.search = "?b=2&c=%20d+e&f=#x";
    v.hash = "g";
    const w = new URL("http://h/?a=1");
    w.href = "http://i/?j=k%26l";
    const x = new URL("http://h/?a=1");
    x.search = "";
    return [[...v.searchParams], v.searchParams === v.searchParams, [...w.searchParams], [...x.searchParams], x.href];
  });
  attempt("json", () => JSON.stringify({ u }));
  attempt("string", () => String(new URL("http://h/p")) + new URL("http://h/p"));
  attempt("lone surrogate", () => new URL("http://h/\\ud800").pathname);
  attempt("symbol", () => new URL(Symbol("x")));
  attempt("no args", () => new URL());
  attempt("without new", () => URL("http://h"));
  attempt("bad base", () => new URL("a", "not a url"));
  attempt("parse", () => [URL.parse("http://h/a")?.href, URL.parse("nope"), URL.parse("b", "http://h/a/")?.href]);
  attempt("parse symbol", () => URL.parse(Symbol("x")));
  attempt("null iterator", () => [...new URLSearchParams({ a: "1", [Symbol.iterator]: null })]);
  attempt("canParse", () => [URL.canParse("http://h"), URL.canParse("x"), URL.canParse("x", "http://h")]);
  attempt("brand href", () => Object.getOwnPropertyDescriptor(URL.prototype, "href").get.call({}));
  attempt("brand primitive", () => Object.getOwnPropertyDescriptor(URL.prototype, "href").get.call(1));
  attempt("brand params", () => URLSearchParams.prototype.get.call(new URL("http://h"), "a"));
  attempt("tags", () => [Object.prototype.toString.call(new URL("http://h")), Object.prototype.toString.call(new URLSearchParams()), Object.prototype.toString.call(new URLSearchParams().keys())]);
  attempt("enumerable", () => [Object.getOwnPropertyDescriptor(URL.prototype, "href").enumerable, Object.getOwnPropertyDescriptor(URLSearchParams.prototype, "append").enumerable, Object.getOwnPropertyDescriptor(URL.prototype, "toJSON").enumerable]);
  attempt("iterator is entries", () => URLSearchParams.prototype[Symbol.iterator] === URLSearchParams.prototype.entries);
  attempt("iterator proto", () => Object.getPrototypeOf(Object.getPrototypeOf(new URLSearchParams().keys())) === Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  attempt("from string", () => [...new URLSearchParams("?a=1&b=%20&c")]);
  attempt("from record", () => [...new URLSearchParams({ a: "1", b: 2, [Symbol("s")]: 3 })]);
  attempt("from pairs", () => [...new URLSearchParams([["a", "1"], ["a", 2]])]);
  attempt("from params", () => [...new URLSearchParams(new URLSearchParams("q=1&r=2"))]);
  attempt("bad pair", () => new URLSearchParams([["a"]]));
  attempt("bad element", () => new URLSearchParams([1]));
  attempt("methods", () => {
    const p = new URLSearchParams("a=1&b=2&a=3&c=4");
    const log = [p.get("a"), p.get("z"), p.getAll("a"), p.has("a"), p.has("a", "3"), p.has("a", "9"), p.size];
    p.delete("a", "1");
    log.push(p.toString());
    p.set("a", "x");
    p.set("n", "new");
    log.push(p.toString());
    p.append("b", "0");
    p.sort();
    log.push(p.toString(), [...p.keys()], [...p.values()]);
    return log;
  });
  attempt("live iteration", () => {
    const p = new URLSearchParams("a=1&b=2&c=3");
    const seen = [];
    for (const [k] of p) { seen.push(k); if (k === "a") p.delete("b"); }
    return seen;
  });
  attempt("forEach", () => {
    const p = new URLSearchParams("a=1&b=2");
    const seen = [];
    p.forEach(function (v, k, parent) { seen.push([k, v, parent === p, this.tag]); }, { tag: "t" });
    return seen;
  });
  attempt("forEach not a function", () => new URLSearchParams().forEach(1));
  attempt("append arity", () => new URLSearchParams().append("a"));
  attempt("encoding", () => new URLSearchParams({ "é &=": "+%/ ~" }).toString());
  attempt("next on other", () => new URLSearchParams().keys().next.call({}));
  return out;
}`;

const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

describe("URL and URLSearchParams inside the sandbox behave as Node's", () => {
  test("the same probe answers the same in the sandbox and in Node", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default ${PROBE};`)));
    expect(out.error).toBeNull();
    const inNode = JSON.parse(JSON.stringify((0, eval)(`(${PROBE})`)()));
    expect(out.result).toEqual(inNode);
    // The probe reached what it means to: no attempt threw where Node answers.
    expect((inNode as Record<string, unknown>).methods).toEqual(["1", null, ["1", "3"], true, true, false, 4, "b=2&a=3&c=4", "b=2&a=x&c=4&n=new", "a=x&b=2&b=0&c=4&n=new", ["a", "b", "b", "c", "n"], ["x", "2", "0", "4", "new"]]);
  });

  test("the search setter's input is what searchParams lists, tabs and newlines included, whenever searchParams is first used", async () => {
    // The URL Standard: the URL's query has them removed, the query object's
    // list is parsed from the input as given (Node lists the stripped query).
    const out = await executor.run(
      requestFor(
        compileForTest(`export default () => {
          const early = new URL("http://h/"); early.searchParams.size; early.search = "?a\\tb=1\\n";
          const late = new URL("http://h/"); late.search = "?a\\tb=1\\n";
          return [early.href, [...early.searchParams], late.href, [...late.searchParams]];
        };`),
      ),
    );
    expect(out.result).toEqual(["http://h/?ab=1", [["a\tb", "1\n"]], "http://h/?ab=1", [["a\tb", "1\n"]]]);
  });

  test("a setter converts its value before it reads the URL it changes (the conversion may change the URL)", async () => {
    const out = await executor.run(
      requestFor(
        compileForTest(`export default () => {
          const u = new URL("https://a.example/?x=1"); const p = u.searchParams;
          u.search = { toString() { u.href = "https://b.example/?h=1"; return "y=2"; } };
          const v = new URL("https://a.example/");
          v.username = { toString() { v.href = "https://c.example/"; return "me"; } };
          return [u.href, u.search, [...p].join(";"), v.href];
        };`),
      ),
    );
    expect(out.result).toEqual(["https://b.example/?y=2", "?y=2", "y,2", "https://me@c.example/"]);
  });

  test("the classes and their iterator lead nowhere outside the isolate", async () => {
    const out = await executor.run(
      requestFor(
        compileForTest(`export default () => {
          const p = new URLSearchParams("a=1");
          const reached = [];
          for (const start of [new URL("http://h"), p, p.keys(), URL, URLSearchParams]) {
            reached.push(start.constructor.constructor("return typeof process + '/' + typeof require")());
          }
          return { reached, iteratorCtor: p.keys().constructor === Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())).constructor };
        };`),
      ),
    );
    expect(out.error).toBeNull();
    // Each Function reached is the isolate's own: no process, no require.
    expect(out.result).toEqual({ reached: Array(5).fill("undefined/undefined"), iteratorCtor: true });
  });
});
