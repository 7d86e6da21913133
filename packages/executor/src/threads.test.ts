import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import { SecretPlaceholder, type Host } from "./types.ts";

const failures: Array<{ error: unknown; op: string }> = [];
const base = memoryHost({ app_t1: { TOKEN: "tok_thread_1" } });
const host: Host = {
  ...base,
  async getSecret(ctx, name) {
    if (name === "BOUND") return new SecretPlaceholder("sy_bound_test_1");
    return base.getSecret(ctx, name);
  },
};
const executor = createExecutor({ host, threads: 2, onHostFailure: (error, info) => failures.push({ error, op: info.op }) });
afterAll(() => executor.dispose());

describe("executor threads", () => {
  test("a script on a thread reads its secret, its bound placeholder and mail errors from the caller's Host, with their codes", async () => {
    const script = compileForTest(
      `export default async () => {
        const token = await secrets.get("TOKEN");
        const bound = await secrets.get("BOUND");
        let code = null;
        try { await email.send({ to: "nobody", subject: "s", text: "t" }); } catch (e) { code = e.code; }
        let internal = null;
        try { await secrets.get("BROKEN"); } catch (e) { internal = e.code; }
        console.log("token is " + token);
        return { bound, code, internal, same: token === "tok_thread_1" };
      };`,
      { appId: "app_t1" },
    );
    const out = await executor.run(requestFor(script));
    expect(out.error).toBeNull();
    expect(out.result).toEqual({ bound: "sy_bound_test_1", code: "invalid_address", internal: "internal_error", same: true });
    // Masked on the thread, as without threads.
    expect(out.logs.map((l) => l.message)).toEqual(["token is [secret:TOKEN]"]);
    expect(out.secretsRead).toEqual(["TOKEN", "BOUND"]);
    // The real cause is reported once, on the caller's thread, with its SDK name.
    expect(failures.map((f) => [f.op, (f.error as Error).message])).toEqual([["secrets.get", "connection to the vault refused at 10.0.0.7:5432"]]);
  });

  test("a version's text crosses to its thread once, and the same id and version with other text runs the new text", async () => {
    const v1 = compileForTest(`export default () => "first text"`, { appId: "app_texts", id: "script_texts", version: 3 });
    const other = compileForTest(`export default () => "other text"`, { appId: "app_texts", id: "script_texts", version: 3 });
    // What the caller hands its threads: how many runs carry their script's code.
    const post = Worker.prototype.postMessage;
    let carried = 0;
    let bare = 0;
    Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
      const m = message as { t?: string; runs?: Array<{ request: { script: { code: string } } }> };
      if (m.t === "runs") for (const run of m.runs ?? []) if (run.request.script.code === "") bare++; else carried++;
      return post.call(this, message, ...(rest as []));
    };
    const results = [];
    try {
      // A copy of v1 with equal text (another object, as a reloaded cache would give) is the same text.
      for (const script of [v1, structuredClone(v1), v1, other, other, v1]) results.push((await executor.run(requestFor(script))).result);
    } finally {
      Worker.prototype.postMessage = post;
    }
    expect(results).toEqual(["first text", "first text", "first text", "other text", "other text", "first text"]);
    // v1 once, other once, v1 again once it had been replaced: three crossings, three runs without.
    expect({ carried, bare }).toEqual({ carried: 3, bare: 3 });
  });

  test("a run whose event cannot be copied to its thread ends, with its thread's other runs, instead of hanging, and the thread is replaced", async () => {
    const script = compileForTest(`export default (event) => event.kind`, { appId: "app_uncloneable" });
    expect((await executor.run(requestFor(script))).result).toBe("manual");
    const before = failures.length;
    const out = await executor.run(requestFor(script, { kind: "manual", payload: { f: () => 1 } }));
    expect(out.status).toBe("error");
    expect(failures.slice(before).map((f) => f.op)).toEqual(["executor.thread"]);
    expect(String((failures[before]?.error as Error).name)).toBe("DataCloneError");
    // The replacement thread starts with no texts: the script crosses again and runs.
    expect((await executor.run(requestFor(script))).result).toBe("manual");
  });

  test("scripts looping at their CPU limit on every thread do not delay the caller's event loop, and end at their limit", async () => {
    const spin = (appId: string) => compileForTest(`export default () => { for (;;) {} };`, { appId, limits: { cpuMs: 600, wallMs: 5_000 } });
    // Two apps: one pinned to each thread.
    await Promise.all(["app_spin_a", "app_spin_b"].map((appId) => executor.run(requestFor(compileForTest(`export default () => 1`, { appId })))));
    const lags: number[] = [];
    let last = performance.now();
    const sampler = setInterval(() => {
      const now = performance.now();
      lags.push(now - last - 5);
      last = now;
    }, 5);
    const outs = await Promise.all(["app_spin_a", "app_spin_b", "app_spin_a", "app_spin_b"].map((appId) => executor.run(requestFor(spin(appId)))));
    clearInterval(sampler);
    for (const out of outs) expect(out.error?.code).toMatch(/^(cpu_limit|isolate_disposed)$/);
    expect(outs.filter((o) => o.error?.code === "cpu_limit").length).toBeGreaterThanOrEqual(2);
    expect(lags.length).toBeGreaterThan(50);
    // Issue #17's bar: the caller's loop delayed under 50 ms at p99.
    const sorted = [...lags].sort((x, y) => x - y);
    expect(sorted[Math.ceil(sorted.length * 0.99) - 1]).toBeLessThan(50);
    const stats = executor.stats();
    expect(stats.totals.timeouts).toBeGreaterThanOrEqual(2);
  });

  test("dispose ends runs in flight on a thread as executor_closed and refuses new ones", async () => {
    const local = createExecutor({ host, threads: 1 });
    const pending = local.run(requestFor(compileForTest(`export default () => secrets.get("HANG");`)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const disposed = local.dispose();
    expect((await pending).error).toMatchObject({ code: "executor_closed", retry: { kind: "retry" } });
    await expect(local.run(requestFor(compileForTest(`export default () => 1`)))).rejects.toThrow(/dispose/);
    await disposed;
  });
});
