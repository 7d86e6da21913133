import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host } from "./types.ts";

// Runs of one script version started together share the context of a run
// that answered within its entry (context-relay.ts) instead of each making
// one; a run that waits on the host never holds the others up. Both on the
// calling thread and on an executor thread, where a hand-off starts a whole
// batch of runs before the first has finished.

/** A host whose `secrets.get("BARRIER")` answers only once `parties` runs are waiting in it: runs that were made to wait for each other would never finish. */
function barrierHost(parties: number): Host {
  const base = memoryHost();
  const waiting: Array<() => void> = [];
  return {
    ...base,
    getSecret(ctx, name) {
      if (name !== "BARRIER") return base.getSecret(ctx, name);
      return new Promise((resolve) => {
        waiting.push(() => resolve("released"));
        if (waiting.length === parties) for (const release of waiting.splice(0)) release();
      });
    },
  };
}

// The secret's value would be masked in the result: its length is not.
const SCRIPT = `export default async (event) => (event.payload.wait ? (await secrets.get("BARRIER")).length : "at once");`;
const event = (wait: boolean) => ({ kind: "manual", payload: { wait } });

describe.each([0, 1])("runs of one version started together (threads: %i)", (threads) => {
  test("that answer within their entry run one after another in one context", async () => {
    const executor = createExecutor({ host: memoryHost(), threads, contextsPerVersion: 4 });
    try {
      const script = compileForTest(SCRIPT);
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => executor.run(requestFor(script, event(false)))));
      expect(outcomes.map((o) => [o.status, o.result])).toEqual(Array.from({ length: 8 }, () => ["ok", "at once"]));
      // Each making its own would have left contextsPerVersion (4) of them warm.
      expect(executor.stats()).toMatchObject({ isolates: 1, contexts: 1, idleContexts: 1, activeRuns: 0 });
    } finally {
      executor.dispose();
    }
  }, 30_000);

  test("that wait on the host each get a context: none waits behind another's call", async () => {
    const executor = createExecutor({ host: barrierHost(4), threads, contextsPerVersion: 4 });
    try {
      const script = compileForTest(SCRIPT);
      const outcomes = await Promise.all(Array.from({ length: 4 }, () => executor.run(requestFor(script, event(true)))));
      expect(outcomes.map((o) => [o.status, o.result])).toEqual(Array.from({ length: 4 }, () => ["ok", 8]));
      expect(executor.stats()).toMatchObject({ contexts: 4, idleContexts: 4 });
    } finally {
      executor.dispose();
    }
  }, 30_000);

  test("mixed: a context handed to a run that then waits on the host frees the runs waiting for it to make their own", async () => {
    const executor = createExecutor({ host: barrierHost(3), threads, contextsPerVersion: 8 });
    try {
      const script = compileForTest(SCRIPT);
      const waits = [false, true, false, true, false, true];
      const outcomes = await Promise.all(waits.map((wait) => executor.run(requestFor(script, event(wait)))));
      expect(outcomes.map((o) => [o.status, o.result])).toEqual(waits.map((wait) => ["ok", wait ? 8 : "at once"]));
      // The first run's context went to the second, which then waited on the host: the four
      // runs still waiting made their own (each making its own: 6).
      expect(executor.stats().contexts).toBe(5);
    } finally {
      executor.dispose();
    }
  }, 30_000);

  test("a run waiting for a context is charged nothing of the runs ahead of it: each keeps its own CPU limit", async () => {
    const executor = createExecutor({ host: memoryHost(), threads });
    try {
      // 8 × 60 ms in one context, each within 200 ms: charged the runs ahead of it, the last would pass its limit.
      const script = compileForTest(`export default () => { const end = Date.now() + 60; while (Date.now() < end); return "done"; };`, { limits: { cpuMs: 200 } });
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => executor.run(requestFor(script))));
      expect(outcomes.map((o) => [o.status, o.result])).toEqual(Array.from({ length: 8 }, () => ["ok", "done"]));
      for (const o of outcomes) expect(o.cpuMs).toBeLessThan(150);
      expect(executor.stats().contexts).toBe(1);
    } finally {
      executor.dispose();
    }
  }, 30_000);

  test("a run that spins to its limit in a handed-over context takes none of the runs waiting behind it down", async () => {
    const executor = createExecutor({ host: memoryHost(), threads });
    try {
      const script = compileForTest(`export default (event) => { if (event.payload.spin) for (;;); return "done"; };`, { limits: { cpuMs: 100 } });
      const spins = [false, true, false, false];
      const outcomes = await Promise.all(spins.map((spin) => executor.run(requestFor(script, { kind: "manual", payload: { spin } }))));
      expect(outcomes.map((o) => o.status)).toEqual(["ok", "timeout", "ok", "ok"]);
    } finally {
      executor.dispose();
    }
  }, 30_000);
});

test("an isolate whose context is handed over stays in the pool until the run that waited for it joins", async () => {
  // One place: the window's. Each app's first run hands its context on while its app is
  // the pool's newest; an isolate taken for idle then would cost the waiting runs a cold start.
  const executor = createExecutor({ host: memoryHost(), threads: 0, poolSize: 1 });
  try {
    const runs = ["app_p", "app_q"].flatMap((appId) => {
      const script = compileForTest(SCRIPT, { appId });
      return Array.from({ length: 4 }, () => executor.run(requestFor(script, event(false))));
    });
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 8 }, () => "ok"));
    expect(executor.stats().totals.isolatesCreated).toBe(2);
  } finally {
    executor.dispose();
  }
});

test("runs waiting for a context when the executor closes end as executor_closed, never started", async () => {
  const executor = createExecutor({ host: memoryHost(), threads: 0 });
  const script = compileForTest(SCRIPT);
  // The first answers within its entry (in this call); the others wait for its context.
  const pending = Array.from({ length: 4 }, () => executor.run(requestFor(script, event(false))));
  executor.dispose();
  const outcomes = await Promise.all(pending);
  expect(outcomes[0]).toMatchObject({ status: "ok", result: "at once" });
  for (const o of outcomes.slice(1)) expect(o).toMatchObject({ status: "error", cpuMs: 0, error: { code: "executor_closed" } });
});
