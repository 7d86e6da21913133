import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

async function resultOf(src: string, event: unknown = { kind: "manual" }): Promise<unknown> {
  const out = await executor.run(requestFor(compileForTest(src, { limits: { cpuMs: 20_000, wallMs: 30_000, memoryMb: 128 } }), event));
  expect(out.error).toBeNull();
  return out.result;
}

describe("TextEncoder and TextDecoder", () => {
  test("every Unicode scalar value round-trips through UTF-8, and the bytes equal node's", async () => {
    const result = (await resultOf(`export default () => {
      const parts = [];
      for (let cp = 0; cp <= 0x10ffff; cp++) { if (cp === 0xd800) cp = 0xe000; parts.push(String.fromCodePoint(cp)); }
      const text = parts.join("");
      const bytes = new TextEncoder().encode(text);
      const back = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
      let sum = 0; for (const b of bytes) sum = (sum * 31 + b) >>> 0;
      return { same: back === text, length: bytes.length, sum };
    };`)) as { same: boolean; length: number; sum: number };
    const parts: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp === 0xd800) cp = 0xe000;
      parts.push(String.fromCodePoint(cp));
    }
    const expected = Buffer.from(parts.join(""), "utf8");
    let sum = 0;
    for (const b of expected) sum = (sum * 31 + b) >>> 0;
    expect(result).toEqual({ same: true, length: expected.length, sum });
  });

  test("lone surrogates encode as U+FFFD, and invalid bytes decode to U+FFFD unless fatal", async () => {
    expect(
      await resultOf(`export default () => {
        const enc = Array.from(new TextEncoder().encode("a\\ud800b\\udc00"));
        const dec = new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0xed, 0xa0, 0x80, 0xe2, 0x82]));
        let fatal = null; try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xc3])); } catch (e) { fatal = e.name; }
        return { enc, dec, fatal };
      };`),
    ).toEqual({ enc: [0x61, 0xef, 0xbf, 0xbd, 0x62, 0xef, 0xbf, 0xbd], dec: "a\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD", fatal: "TypeError" });
    // node agrees on the replacement: one U+FFFD per maximal invalid subpart.
    expect(new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0xed, 0xa0, 0x80, 0xe2, 0x82]))).toBe("a\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
  });

  test("stream keeps a character split across chunks, and the BOM is dropped unless ignoreBOM", async () => {
    expect(
      await resultOf(`export default () => {
        const d = new TextDecoder();
        const euro = [0xe2, 0x82, 0xac];
        const streamed = d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41, euro[0]]), { stream: true }) + d.decode(new Uint8Array(euro.slice(1)), { stream: true }) + d.decode();
        const kept = new TextDecoder("utf8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]));
        const into = new TextEncoder().encodeInto("h€llo", new Uint8Array(4));
        let label = null; try { new TextDecoder("latin1"); } catch (e) { label = e.name; }
        return { streamed, kept: kept.length, into, label, encoding: d.encoding };
      };`),
    ).toEqual({ streamed: "A€", kept: 2, into: { read: 2, written: 4 }, label: "RangeError", encoding: "utf-8" });
  });
});

describe("atob and btoa", () => {
  test("agree with node on every byte value and refuse what HTML refuses", async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("latin1");
    const result = await resultOf(
      `export default (event) => {
        const s = event.payload.all;
        const refused = (f) => { try { f(); return null; } catch (e) { return e.name; } };
        return { b64: btoa(s), back: atob(btoa(s)) === s, spaced: atob(" YW Jj\\n"), noPad: atob("YQ"),
          wide: refused(() => btoa("€")), bad: refused(() => atob("a")), bad2: refused(() => atob("a===")) };
      };`,
      { kind: "manual", payload: { all } },
    );
    expect(result).toEqual({
      b64: Buffer.from(all, "latin1").toString("base64"),
      back: true,
      spaced: "abc",
      noPad: "a",
      wide: "InvalidCharacterError",
      bad: "InvalidCharacterError",
      bad2: "InvalidCharacterError",
    });
  });
});

describe("structuredClone", () => {
  test("keeps Map, Set, Date, RegExp, typed arrays, shared references and cycles", async () => {
    expect(
      await resultOf(`export default () => {
        const buffer = new ArrayBuffer(8);
        const a = new Uint8Array(buffer, 0, 4); a.set([1, 2, 3, 4]);
        const b = new Uint16Array(buffer, 4, 2);
        const shared = { n: 1 };
        const original = { map: new Map([[shared, "v"]]), set: new Set([shared]), date: new Date(1e12), re: /a+b/gi, a, b, list: [shared, shared] };
        original.self = original;
        const copy = structuredClone(original);
        const copyShared = copy.list[0];
        return [
          copy !== original, copy.self === copy, copy.map instanceof Map, copy.set instanceof Set,
          copy.map.get(copyShared) === "v", copy.set.has(copyShared), copy.list[1] === copyShared, copyShared !== shared,
          copy.date instanceof Date && copy.date.getTime() === 1e12, copy.re instanceof RegExp && copy.re.source === "a+b" && copy.re.flags === "gi",
          copy.a instanceof Uint8Array && Array.from(copy.a).join() === "1,2,3,4", copy.a.buffer === copy.b.buffer && copy.a.buffer !== buffer,
          copy.b instanceof Uint16Array && copy.b.byteOffset === 4,
        ];
      };`),
    ).toEqual(Array(13).fill(true));
  });

  test("refuses functions and symbols with DataCloneError", async () => {
    expect(
      await resultOf(`export default () => [() => 1, Symbol("s"), { f() {} }].map((v) => { try { structuredClone(v); return "cloned"; } catch (e) { return e.name; } });`),
    ).toEqual(["DataCloneError", "DataCloneError", "DataCloneError"]);
  });
});

describe("events and abort signals", () => {
  test("EventTarget dispatches in order with once and signal options; AbortSignal.any and timeout abort with their reasons", async () => {
    expect(
      await resultOf(`export default async () => {
        const seen = [];
        const target = new EventTarget();
        const off = new AbortController();
        target.addEventListener("ping", (e) => seen.push("a:" + e.type), { once: true });
        target.addEventListener("ping", { handleEvent: (e) => seen.push("b:" + (e.target === target)) });
        target.addEventListener("ping", () => seen.push("c"), { signal: off.signal });
        target.dispatchEvent(new Event("ping"));
        off.abort();
        target.dispatchEvent(new Event("ping"));
        const a = new AbortController(); const b = new AbortController();
        const any = AbortSignal.any([a.signal, b.signal]);
        b.abort("why");
        const timeout = AbortSignal.timeout(5);
        await new Promise((r) => timeout.addEventListener("abort", r));
        const plain = new AbortController(); plain.abort();
        return { seen, any: [any.aborted, any.reason], timeout: timeout.reason.name, plain: plain.signal.reason.name, illegal: (() => { try { new AbortSignal(); } catch (e) { return e.name; } })() };
      };`),
    ).toEqual({ seen: ["a:ping", "b:true", "c", "b:true"], any: [true, "why"], timeout: "TimeoutError", plain: "AbortError", illegal: "TypeError" });
  });
});
