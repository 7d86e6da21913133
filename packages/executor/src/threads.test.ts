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
    const again = { ...v1, code: `${v1.code}` };
    const other = compileForTest(`export default () => "other text"`, { appId: "app_texts", id: "script_texts", version: 3 });
    const results = [];
    for (const script of [v1, again, v1, other, other, v1]) results.push((await executor.run(requestFor(script))).result);
    expect(results).toEqual(["first text", "first text", "first text", "other text", "other text", "first text"]);
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
    local.dispose();
    expect((await pending).error).toMatchObject({ code: "executor_closed", retry: { kind: "retry" } });
    await expect(local.run(requestFor(compileForTest(`export default () => 1`)))).rejects.toThrow(/dispose/);
  });
});
