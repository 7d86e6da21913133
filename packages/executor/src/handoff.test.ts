import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const host = memoryHost({ app_launch: { TOKEN: "tok_launch_1" } });

// Each run answers with what it was given and logs it, so a run that got
// another's payload, or another's log line, shows.
const ECHO = `export default async (event, ctx) => {
  console.log("run " + event.n);
  if (event.n % 3 === 0) await secrets.list();
  return { n: event.n, run: ctx.run.id };
};`;

describe("runs handed over in one event-loop turn", () => {
  test("go to their executor thread together, each with its own event, context, logs and result", async () => {
    const executor = createExecutor({ host, threads: 1, contextsPerVersion: 8 });
    try {
      const script = compileForTest(ECHO, { appId: "app_launch" });
      const wave = async (from: number) => {
        const requests = Array.from({ length: 8 }, (_, i) => ({ ...requestFor(script), event: { kind: "manual", n: from + i } }));
        const outcomes = await Promise.all(requests.map((r) => executor.run(r)));
        outcomes.forEach((out, i) => {
          const n = from + i;
          expect(out.error).toBeNull();
          expect(out.result).toEqual({ n, run: requests[i]?.ctx.run.id });
          expect(out.logs.map((l) => l.message)).toEqual([`run ${n}`]);
        });
      };
      // Each wave's eight runs reach the app's executor thread in one message.
      await wave(0);
      expect(executor.stats().totals.batchedStarts).toBe(8);
      await wave(8);
      await wave(16);
      expect(executor.stats().totals.batchedStarts).toBe(24);
      // Not one context per run: a run that answered within its entry hands its context to the
      // next (context-relay.ts); those that wait on the host (n % 3 === 0) keep theirs busy, and
      // the runs queued for a context that went busy made their own.
      expect(executor.stats()).toMatchObject({ isolates: 1, contexts: 6, activeRuns: 0 });
    } finally {
      executor.dispose();
    }
  });

  test("runs waiting to be sent when the executor is disposed end as executor_closed, none left hanging", async () => {
    const executor = createExecutor({ host, threads: 1, contextsPerVersion: 4 });
    const script = compileForTest(ECHO, { appId: "app_launch" });
    await Promise.all(Array.from({ length: 4 }, () => executor.run(requestFor(script))));
    // Started in this turn: they wait for the launcher, which runs after dispose().
    const pending = Array.from({ length: 4 }, (_, n) => executor.run({ ...requestFor(script), event: { kind: "manual", n } }));
    executor.dispose();
    const outcomes = await Promise.all(pending);
    for (const out of outcomes) expect(out.error).toMatchObject({ code: "executor_closed" });
  });

  test("a run killed for its limit does not stop the runs started with it from being recorded", async () => {
    const executor = createExecutor({ host, threads: 1, contextsPerVersion: 4 });
    try {
      const script = compileForTest(`export default (event) => { if (event.spin) for (;;); return event.n; };`, { appId: "app_launch_spin", limits: { cpuMs: 100 } });
      await Promise.all(Array.from({ length: 4 }, (_, n) => executor.run({ ...requestFor(script), event: { kind: "manual", n } })));
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, (_, n) => executor.run({ ...requestFor(script), event: { kind: "manual", n, spin: n === 3 } })),
      );
      expect(outcomes[3]?.status).toBe("timeout");
      // Runs queued behind the spinning one in the same isolate either
      // finished before it or went down with the isolate: never a hang.
      for (const out of outcomes.slice(0, 3)) expect(["ok", "error"]).toContain(out.status);
      // The isolate is replaced; the next burst runs normally.
      const after = await Promise.all(Array.from({ length: 4 }, (_, n) => executor.run({ ...requestFor(script), event: { kind: "manual", n } })));
      expect(after.map((o) => o.result)).toEqual([0, 1, 2, 3]);
    } finally {
      executor.dispose();
    }
  });
});
