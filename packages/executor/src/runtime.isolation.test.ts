import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host } from "./types.ts";

// The web runtime's classes and objects, and what they hand back (a fetch
// response, a CryptoKey, errors from the host), give no path out of the isolate.
let server: Server;
let origin = "";
beforeAll(async () => {
  server = createServer((_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const host: Host = {
  ...memoryHost(),
  async fetch(_ctx, request) {
    const res = await fetch(request.url);
    return { status: res.status, statusText: res.statusText, headers: [...res.headers], url: res.url, redirected: false, body: new Uint8Array(await res.arrayBuffer()) };
  },
};
const executor = createExecutor({ host });
afterAll(() => executor.dispose());

const PROBE = `
  const found = [];
  const probe = (where, x) => {
    try {
      if (x === undefined || x === null || (typeof x !== "object" && typeof x !== "function")) return;
      if (typeof x.applySync === "function" || typeof x.derefInto === "function" || typeof x.copyInto === "function") found.push(where + ":handle");
      for (const F of [x.constructor, x.constructor && x.constructor.constructor, Object.getPrototypeOf(x) && Object.getPrototypeOf(x).constructor]) {
        if (typeof F !== "function") continue;
        let out;
        try { out = F("if (typeof process === 'object') { process.env.SWITCHYARD_PWNED = '1'; } return typeof process + '/' + typeof require")(); } catch (e) { out = "threw"; }
        if (typeof out === "string" && out.includes("/")) found.push(where + ":" + out);
      }
    } catch (e) {
      found.push(where + ":threw");
    }
  };`;

describe("the web runtime gives no path to the host", () => {
  test("its globals, their prototypes and the objects they make reach only the isolate's own Function", async () => {
    const out = await executor.run(
      requestFor(
        compileForTest(`${PROBE}
        export default async (event) => {
          const names = ["AbortController", "AbortSignal", "Blob", "Crypto", "CryptoKey", "DOMException", "Event", "EventTarget", "File", "FormData",
            "Headers", "Performance", "Request", "Response", "SubtleCrypto", "TextDecoder", "TextEncoder", "URL", "URLSearchParams",
            "atob", "btoa", "clearInterval", "clearTimeout", "crypto", "fetch", "performance", "queueMicrotask", "setInterval", "setTimeout", "structuredClone"];
          for (const name of names) { probe(name, globalThis[name]); probe(name + ".prototype", globalThis[name] && globalThis[name].prototype); }
          const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
          const response = await fetch(event.payload.origin + "/");
          const objects = {
            url: new URL("http://a"), params: new URLSearchParams("a=1"), headers: new Headers(), request: new Request("http://a"), response,
            body: await response.clone().json(), blob: new Blob(["x"]), form: new FormData(), controller: new AbortController(), signal: AbortSignal.timeout(1),
            event: new Event("x"), target: new EventTarget(), subtle: crypto.subtle, key, digest: await crypto.subtle.digest("SHA-256", new Uint8Array(1)),
            encoder: new TextEncoder(), decoder: new TextDecoder(), clone: structuredClone({ a: new Map() }), perf: performance,
          };
          for (const [name, value] of Object.entries(objects)) probe(name, value);
          for (const attempt of [() => fetch("https://denied.invalid/"), () => crypto.subtle.importKey("raw", new Uint8Array(1), "nope", false, []), () => new URL("nope")]) {
            try { await attempt(); } catch (e) { probe("error", e); probe("error.cause", e.cause); }
          }
          const reached = (new URL("http://a")).constructor.constructor("return typeof process + '/' + typeof require")();
          return { found, reached, probed: names.length };
        };`),
        { kind: "manual", payload: { origin } },
      ),
    );
    expect(out.error).toBeNull();
    const { found, reached } = out.result as { found: string[]; reached: string };
    expect(reached).toBe("undefined/undefined");
    for (const entry of found) expect(entry).toMatch(/:(undefined\/undefined|threw)$/);
    expect(found.length).toBeGreaterThan(40);
    expect(process.env.SWITCHYARD_PWNED).toBeUndefined();
  });

  test("a stack-trace hook during fetch, timers and crypto.subtle sees only isolate frames", async () => {
    const out = await executor.run(
      requestFor(
        compileForTest(`${PROBE}
        export default async (event) => {
          Error.prepareStackTrace = (error, frames) => {
            for (const frame of frames) { probe("this", frame.getThis()); probe("function", frame.getFunction()); }
            return "hooked";
          };
          await new Promise((resolve) => setTimeout(() => { new Error("in a timer").stack; resolve(); }, 1));
          try { await fetch("ftp://x/"); } catch (e) { e.stack; }
          try { await crypto.subtle.sign("HMAC", {}, new Uint8Array(1)); } catch (e) { e.stack; }
          const res = await fetch(event.payload.origin + "/");
          await res.text();
          try { await res.text(); } catch (e) { e.stack; }
          return found;
        };`),
        { kind: "manual", payload: { origin } },
      ),
    );
    expect(out.error).toBeNull();
    for (const entry of out.result as string[]) expect(entry).toMatch(/:(undefined\/undefined|threw)$/);
    expect(process.env.SWITCHYARD_PWNED).toBeUndefined();
  });

  test("the runtime's handle on the global is gone before the script's first line", async () => {
    const out = await executor.run(requestFor(compileForTest(`const early = "__sy_runtime" in globalThis; export default () => [early, "__sy_runtime" in globalThis];`)));
    expect(out.result).toEqual([false, false]);
  });
});
