import { pbkdf2Sync } from "node:crypto";
import { describe, expect, test } from "vitest";
import { RunSubtle } from "./run-subtle.ts";
import { SUBTLE_LIMITS } from "./subtle-limits.ts";

// The host side alone, with node:crypto's real PBKDF2, in the wire form
// runtime/subtle.ts sends: what runs at once, and what a run's end stops.

const b64 = (text: string) => Buffer.from(text).toString("base64");

async function pbkdf2Calls(subtle: RunSubtle, iterations: number): Promise<(n: number) => string> {
  const imported = await subtle.perform(JSON.stringify({ method: "importKey", args: ["raw", { $b: b64("password") }, "PBKDF2", false, ["deriveBits"]] }));
  if (!imported.ok) throw new Error(imported.message);
  const key = JSON.parse(imported.json) as unknown;
  return (n) => JSON.stringify({ method: "deriveBits", args: [{ name: "PBKDF2", hash: "SHA-256", salt: { $b: b64(`salt ${n}`) }, iterations }, key, 256] });
}

/** The most calls `subtle` had running at once until `done` settles, sampled every millisecond. */
async function peakWhile(subtle: RunSubtle, done: Promise<unknown>): Promise<number> {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, subtle.inFlight)), 1);
  try {
    await done;
  } finally {
    clearInterval(sampler);
  }
  return peak;
}

describe("a run's crypto.subtle calls on the host", () => {
  test("run at most a few at a time; the rest wait their turn and all complete correctly", async () => {
    const subtle = new RunSubtle("app_a");
    const call = await pbkdf2Calls(subtle, 20_000);
    const all = Promise.all(Array.from({ length: 20 }, (_, n) => subtle.perform(call(n))));
    expect(subtle.inFlight).toBe(SUBTLE_LIMITS.maxInFlightPerRun);
    expect(await peakWhile(subtle, all)).toBe(SUBTLE_LIMITS.maxInFlightPerRun);
    const answers = await all;
    answers.forEach((answer, n) => {
      expect(answer.ok).toBe(true);
      const bytes = (JSON.parse((answer as { json: string }).json) as { $b: string }).$b;
      expect(bytes).toBe(pbkdf2Sync("password", `salt ${n}`, 20_000, 32, "sha256").toString("base64"));
    });
  });

  test("when the run ends, calls still waiting are answered AbortError and never started", async () => {
    const subtle = new RunSubtle("app_b");
    const call = await pbkdf2Calls(subtle, 50_000);
    const answers = Array.from({ length: 12 }, (_, n) => subtle.perform(call(n)));
    subtle.finish();
    const settled = await Promise.all(answers);
    expect(settled.filter((a) => a.ok)).toHaveLength(SUBTLE_LIMITS.maxInFlightPerRun);
    expect(settled.slice(SUBTLE_LIMITS.maxInFlightPerRun)).toEqual(
      Array(12 - SUBTLE_LIMITS.maxInFlightPerRun).fill({ ok: false, name: "AbortError", message: "crypto.subtle: the run ended before the operation started" }),
    );
    expect(subtle.inFlight).toBe(0);
    expect(await subtle.perform(call(0))).toMatchObject({ ok: false, name: "AbortError" });
    expect(subtle.inFlight).toBe(0);
  });
});
