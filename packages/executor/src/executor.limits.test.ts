import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { RunOutcome } from "./types.ts";

const host = memoryHost();
const executor = createExecutor({ host });
afterAll(() => executor.dispose());

// Enforcement must end a run within its limit plus this much.
const SLACK_MS = 100;
const HEALTHY = `export default (event) => ({ ok: true, n: event.n ?? 0 });`;

async function timed(run: Promise<RunOutcome>): Promise<{ out: RunOutcome; ms: number }> {
  const start = performance.now();
  const out = await run;
  return { out, ms: performance.now() - start };
}

async function expectHealthy(appId: string): Promise<void> {
  const out = await executor.run(requestFor(compileForTest(HEALTHY, { appId })));
  expect(out).toMatchObject({ status: "ok", result: { ok: true } });
}

describe("limits", () => {
  test("a busy loop ends at its CPU limit as a timeout, and the app's next run succeeds", async () => {
    const script = compileForTest(`export default () => { for (;;) {} };`, { appId: "app_busy", limits: { cpuMs: 300, wallMs: 5_000 } });
    const { out, ms } = await timed(executor.run(requestFor(script)));
    expect(out.status).toBe("timeout");
    expect(out.error).toMatchObject({ code: "cpu_limit", retry: { kind: "retry" } });
    expect(out.cpuMs).toBeGreaterThanOrEqual(300);
    expect(out.cpuMs).toBeLessThan(300 + SLACK_MS);
    expect(ms).toBeLessThan(300 + SLACK_MS);
    await expectHealthy("app_busy");
  });

  test("a microtask loop ends at its CPU limit as a timeout, and the app's next run succeeds", async () => {
    const script = compileForTest(`export default async () => { for (;;) await null; };`, { appId: "app_micro", limits: { cpuMs: 300, wallMs: 5_000 } });
    const { out, ms } = await timed(executor.run(requestFor(script)));
    expect(out.status).toBe("timeout");
    expect(out.error?.code).toBe("cpu_limit");
    expect(ms).toBeLessThan(300 + SLACK_MS);
    await expectHealthy("app_micro");
  });

  test("an await on a host call that never settles ends at the wall-clock limit as a timeout, and the app's next run succeeds", async () => {
    const script = compileForTest(`export default async () => { console.log("waiting"); await secrets.get("HANG"); };`, {
      appId: "app_hang",
      limits: { cpuMs: 5_000, wallMs: 300 },
    });
    const { out, ms } = await timed(executor.run(requestFor(script)));
    expect(out.status).toBe("timeout");
    expect(out.error?.code).toBe("wall_limit");
    expect(ms).toBeLessThan(300 + SLACK_MS);
    // Logs written before the limit are kept.
    expect(out.logs.map((l) => l.message)).toEqual(["waiting"]);
    await expectHealthy("app_hang");
  });

  test("a memory bomb ends as oom, its isolate is thrown away, and the app's next run gets a fresh one", async () => {
    const script = compileForTest(`const hoard = []; export default () => { for (;;) hoard.push(new Array(10_000).fill(Math.random())); };`, {
      appId: "app_bomb",
      limits: { memoryMb: 16, cpuMs: 5_000, wallMs: 2_000 },
    });
    const before = executor.stats().totals.isolatesDisposed.memory;
    const { out, ms } = await timed(executor.run(requestFor(script)));
    expect(out.status).toBe("oom");
    expect(out.error).toMatchObject({ code: "memory_limit", retry: { kind: "retry" } });
    expect(ms).toBeLessThan(2_000 + SLACK_MS);
    expect(executor.stats().totals.isolatesDisposed.memory).toBe(before + 1);
    const next = await executor.run(requestFor(compileForTest(HEALTHY, { appId: "app_bomb", limits: { memoryMb: 16 } })));
    expect(next.status).toBe("ok");
  });

  test("16 hostile runs at once in one app leave a healthy app's run on time", async () => {
    const local = createExecutor({ host });
    try {
      const healthy = compileForTest(HEALTHY, { appId: "app_healthy" });
      // Warm: the healthy app's isolate exists before the storm.
      expect((await local.run(requestFor(healthy))).status).toBe("ok");
      const hostile = compileForTest(`export default () => { for (;;) {} };`, { appId: "app_hostile", limits: { cpuMs: 1_000, wallMs: 3_000 } });
      const storm = Array.from({ length: 16 }, () => local.run(requestFor(hostile)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { out, ms } = await timed(local.run(requestFor(healthy, { kind: "manual", n: i })));
        expect(out.status).toBe("ok");
        times.push(ms);
      }
      expect(Math.max(...times)).toBeLessThan(200);
      // The run that overran ends as a timeout; runs queued behind it in the
      // same isolate may not have reached their own limit yet and end as
      // collateral of the isolate's disposal.
      const ended = await Promise.all(storm);
      expect(ended.some((o) => o.status === "timeout")).toBe(true);
      for (const o of ended) expect(o.error?.code).toMatch(/^(cpu_limit|isolate_disposed)$/);
      expect((await local.run(requestFor(compileForTest(HEALTHY, { appId: "app_hostile" })))).status).toBe("ok");
    } finally {
      local.dispose();
    }
  });

  test("a script's limits are clamped to the operator's maximums", async () => {
    const capped = createExecutor({ host, maxLimits: { cpuMs: 200 } });
    try {
      const script = compileForTest(`export default () => { for (;;) {} };`, { limits: { cpuMs: 60_000, wallMs: 5_000 } });
      const { out, ms } = await timed(capped.run(requestFor(script)));
      expect(out.error?.message).toContain("200 ms of CPU");
      expect(ms).toBeLessThan(200 + SLACK_MS);
    } finally {
      capped.dispose();
    }
  });

  test("a host call left running when the run ends is answered run_finished, and the context is not reused", async () => {
    const script = compileForTest(`let runs = 0; export default () => { runs++; secrets.get("HANG").catch(() => {}); return runs; };`, { appId: "app_dangling" });
    const first = await executor.run(requestFor(script));
    const second = await executor.run(requestFor(script));
    expect([first.result, second.result]).toEqual([1, 1]);
  });

  test("an isolate that keeps burning CPU after its run ended is disposed as a runaway", async () => {
    // The run ends while its host call hangs; the call is then answered
    // run_finished, and the script's catch handler loops with no run to charge.
    const script = compileForTest(`export default () => { secrets.get("HANG").catch(() => { for (;;) {} }); return "done"; };`, { appId: "app_runaway" });
    const before = executor.stats().totals.isolatesDisposed.runaway;
    expect((await executor.run(requestFor(script))).result).toBe("done");
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(executor.stats().totals.isolatesDisposed.runaway).toBe(before + 1);
    await expectHealthy("app_runaway");
  });
});
