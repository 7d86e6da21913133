import { describe, expect, test } from "vitest";
import { KeptTexts, SentTexts, type WireRun } from "./script-texts.ts";
import type { CompiledScript, RunRequest } from "../types.ts";

const script = (appId: string, id: string, version: number, code: string, sourceMap: string | null = null): CompiledScript => ({
  id,
  appId,
  version,
  code,
  sourceMap,
  freshContext: false,
  limits: { memoryMb: 32, cpuMs: 1_000, wallMs: 1_000 },
});
const request = (s: CompiledScript): RunRequest => ({
  script: s,
  event: { kind: "manual", payload: {} },
  ctx: { app: { id: s.appId, name: s.appId }, trigger: null, run: { id: "run_1", attempt: 1, event_id: "evt_1" } },
});
// What crosses to the thread: a structured clone, as postMessage makes.
const cross = (run: WireRun): WireRun => structuredClone(run);

describe("script texts kept on an executor thread", () => {
  test("a version's text crosses once; later runs carry none and the thread gives it back", () => {
    const sent = new SentTexts();
    const kept = new KeptTexts();
    const s = script("app_a", "script_a", 1, "x".repeat(1_000), "{\"map\":1}");
    const first = cross(sent.wire(1, request(s)));
    expect(first.carries).toBe("keep");
    expect(kept.restore(first).script.code).toBe(s.code);
    const second = cross(sent.wire(2, request(s)));
    expect(second.carries).toBe("kept");
    expect(second.request.script.code).toBe("");
    expect(second.request.script.sourceMap).toBeNull();
    expect(kept.restore(second).script).toEqual(s);
  });

  test("the same id and version with other text, or of another app, is sent again and replaces what the thread had", () => {
    const sent = new SentTexts();
    const kept = new KeptTexts();
    const v1 = script("app_a", "script_a", 1, "old code");
    const redeployed = script("app_a", "script_a", 1, "new code");
    const otherApp = script("app_b", "script_a", 1, "app b code");
    for (const s of [v1, v1, redeployed, redeployed, otherApp, v1, otherApp]) {
      const run = cross(sent.wire(1, request(s)));
      expect(kept.restore(run).script.code).toBe(s.code);
    }
  });

  test("within its byte budget, under any order of use, the thread always runs the text the caller sent, and keeps no more than the caller counts", () => {
    // 10 scripts of 100-1,000 characters in a 4,000-byte budget (2 bytes a character): most runs evict.
    const scripts = Array.from({ length: 10 }, (_, i) => script(`app_${i}`, `script_${i}`, 1, String(i).repeat(100 * (i + 1))));
    const big = script("app_big", "script_big", 1, "b".repeat(3_000));
    const sent = new SentTexts(4_000);
    const kept = new KeptTexts();
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let keptRuns = 0;
    for (let i = 0; i < 2_000; i++) {
      const s = i % 97 === 0 ? big : (scripts[Math.floor(random() * scripts.length)] as CompiledScript);
      const run = cross(sent.wire(i, request(s)));
      if (run.carries === "kept") keptRuns++;
      // Too big for the budget: carried whole, never kept.
      if (s === big) expect(run.carries).toBeUndefined();
      expect(kept.restore(run).script.code).toBe(s.code);
      expect(kept.bytes).toBeLessThanOrEqual(4_000);
    }
    expect(keptRuns).toBeGreaterThan(200);
  });

  test("the text used least recently is dropped first, and a text that grows past the budget under the same key is carried whole from then on", () => {
    // Three texts of 1,000 bytes in a budget of 3,000: a fourth drops one.
    const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => script(`app_${x}`, `script_${x}`, 1, x.repeat(500))) as [CompiledScript, CompiledScript, CompiledScript, CompiledScript];
    const sent = new SentTexts(3_000);
    const kept = new KeptTexts();
    const send = (s: CompiledScript) => {
      const run = cross(sent.wire(1, request(s)));
      expect(kept.restore(run).script.code).toBe(s.code);
      return run;
    };
    for (const s of [a, b, c]) send(s);
    // a is used again: b is now the least recently used, and goes when d comes.
    expect(send(a).carries).toBe("kept");
    expect(send(d).forget).toEqual([`app_b\u0000script_b\u00001`]);
    expect(send(a).carries).toBe("kept");
    expect(send(c).carries).toBe("kept");
    expect(send(b).carries).toBe("keep");
    // c redeployed under the same id and version with a text bigger than the budget: the old one is forgotten, the new one crosses whole each time.
    const bigC = { ...c, code: "C".repeat(2_000) };
    const first = send(bigC);
    expect(first.carries).toBeUndefined();
    expect(first.forget).toContain(`app_c\u0000script_c\u00001`);
    expect(send(bigC).carries).toBeUndefined();
    expect(kept.bytes).toBeLessThanOrEqual(3_000);
  });

  test("a run that says its text is kept when the thread has none fails loudly instead of running other code", () => {
    const sent = new SentTexts();
    const s = script("app_a", "script_a", 1, "code");
    sent.wire(1, request(s));
    const second = cross(sent.wire(2, request(s)));
    expect(() => new KeptTexts().restore(second)).toThrow(/no text kept for script script_a version 1/);
  });
});
