/**
 * What runtime-script.ts runs in its throwaway isolate, with the runtime
 * proper's script, so that the code cache it takes holds the compiled code of the
 * runtime's common paths. Its bridge answers in the isolate (zero bytes of
 * "entropy", a refused host call): the isolate has no host and is disposed
 * right after; only code is kept.
 *
 * Non-ASCII hosts are left out on purpose: they would put tr46's mapping
 * table into every isolate's code, and few scripts need it. The bridge has
 * no URL library to give, so URLs parse on the context's own copy of
 * whatwg-url: the same functions the library runs, so their code is warmed
 * for both (only the library's freeze and url-parser.ts's checks are not).
 */
import { RUNTIME_RECEIVER } from "./sdk-source.ts";

/** Run before the runtime proper's script: receives it as the loader would. */
export const WARMUP_RECEIVER = `Object.defineProperty(globalThis, ${JSON.stringify(RUNTIME_RECEIVER)}, { value: (f) => { globalThis.evaluateRuntime = f; }, configurable: true });`;

/** Run after it. */
export const WARMUP_SCRIPT = `(() => {
  "use strict";
  const runtime = globalThis.evaluateRuntime();
  runtime.connect({
    call: () => Promise.resolve('e["warmup","no host",false]'),
    callSync: (op, size) => "\\0".repeat(Number(size)),
    notify() {},
    tagError() {},
  });
  runtime.install(globalThis);
  runtime.beginRun();
  const url = new URL("https://user:pw@Example.COM:8080/a/./b/../c?q=1&r=%20s#frag");
  url.searchParams.append("x", "y z");
  url.pathname = "/d";
  String(url) + url.origin + url.host + url.search + url.hash + JSON.stringify(url);
  new URL("../e?f", "http://h.example/a/b").href;
  URL.canParse("mailto:someone@example.com");
  const params = new URLSearchParams({ a: "1", b: "two" });
  params.set("c", "3");
  [...params].length + params.toString().length;
  new TextDecoder().decode(new TextEncoder().encode("h\\u00e9llo \\u20ac"));
  atob(btoa("warm"));
  crypto.randomUUID();
  crypto.getRandomValues(new Uint8Array(16));
  const headers = new Headers({ "Content-Type": "application/json" });
  headers.set("X-Id", "1");
  headers.append("Accept", "*/*");
  [...headers].length;
  const request = new Request("https://example.com/api", { method: "POST", headers, body: JSON.stringify({ a: 1 }) });
  request.headers.get("content-type");
  request.clone().text();
  const response = new Response(JSON.stringify({ ok: true }), { status: 201, headers: { "content-type": "application/json" } });
  response.clone().json();
  response.text();
  Response.json({ b: 2 }).arrayBuffer();
  fetch("https://example.com/").catch(() => {});
  structuredClone({ a: [1, "2", { b: new Date(0) }], m: new Map([[1, 2]]) });
  const controller = new AbortController();
  controller.signal.addEventListener("abort", () => {});
  controller.abort();
  new EventTarget().dispatchEvent(new Event("x"));
  performance.now();
})();`;
