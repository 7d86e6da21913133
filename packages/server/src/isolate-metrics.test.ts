import { compileScript, createExecutor, type CompiledScript, type Host } from "@switchyard/executor";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { isolateMetrics } from "./isolate-metrics.ts";

const host: Host = {
  getSecret: async () => null,
  listSecrets: async () => [],
  sendEmail: async () => ({ messageId: "unused" }),
};

async function scriptOf(appId: string): Promise<CompiledScript> {
  const compiled = await compileScript({ source: "export default () => 1;", language: "js" });
  if (!compiled.ok) throw new Error(compiled.error.message);
  return { id: `script_${appId}`, appId, version: 1, code: compiled.value.code, sourceMap: null, freshContext: false, limits: { memoryMb: 64, cpuMs: 1_000, wallMs: 5_000 } };
}

function valueOf(text: string, metric: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${metric} `));
  if (line === undefined) throw new Error(`no ${metric} in:\n${text}`);
  return Number(line.slice(metric.length + 1));
}

describe("isolate metrics", () => {
  it("report the executor threads' isolates, their memory against the budget, cold starts and disposals by reason", async () => {
    // Two threads, 2 isolates at most each: of 6 apps used once, 2 are not kept.
    const executor = createExecutor({ host, threads: 2, poolSize: 4, isolateMemoryMb: 64 });
    const registry = new Registry();
    isolateMetrics(registry, executor);
    try {
      const scripts = await Promise.all(["a", "b", "c", "d", "e", "f"].map(scriptOf));
      for (const script of scripts) {
        const outcome = await executor.run({ script, event: null, ctx: { app: { id: script.appId, name: script.appId }, trigger: null, run: { id: `run_${script.appId}`, attempt: 1, event_id: "e" } } });
        expect(outcome.status).toBe("ok");
      }
      // Pool changes between runs reach the caller within 20 ms (thread-main.ts).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const text = await registry.metrics();
      expect(valueOf(text, "switchyard_executor_isolates")).toBe(4);
      expect(valueOf(text, "switchyard_executor_isolate_cold_starts_total")).toBe(6);
      expect(valueOf(text, 'switchyard_executor_isolates_disposed_total{reason="not_admitted"}')).toBe(2);
      expect(valueOf(text, 'switchyard_executor_isolates_disposed_total{reason="evicted"}')).toBe(0);
      expect(valueOf(text, "switchyard_executor_isolate_memory_budget_bytes")).toBe(64 * 1024 * 1024);
      // About a megabyte each, the spares' included.
      const bytes = valueOf(text, "switchyard_executor_isolate_memory_bytes");
      expect(bytes).toBeGreaterThan(4 * 512 * 1024);
      expect(bytes).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await executor.dispose();
    }
  });
});
