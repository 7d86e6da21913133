import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

describe("timers inside the sandbox", () => {
  test("fire in the order of their delays, with arguments; cleared ones never fire; intervals repeat until cleared", async () => {
    const out = await executor.run(
      requestFor(
        compileForTest(`export default async () => {
          const seen = [];
          setTimeout((x) => seen.push(x), 30, "c");
          setTimeout((x) => seen.push(x), 10, "a");
          setTimeout((x) => seen.push(x), 20, "b");
          setTimeout(() => seen.push("zero"));
          const cancelled = setTimeout(() => seen.push("cancelled"), 5);
          clearTimeout(cancelled);
          let n = 0;
          const every = setInterval(() => { seen.push("tick" + ++n); if (n === 3) clearInterval(every); }, 1);
          queueMicrotask(() => seen.push("micro"));
          const t0 = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 60));
          return { seen, waited: performance.now() - t0 >= 55 };
        };`),
      ),
    );
    expect(out.error).toBeNull();
    const { seen, waited } = out.result as { seen: string[]; waited: boolean };
    expect(waited).toBe(true);
    expect(seen[0]).toBe("micro");
    expect(seen.filter((s) => !s.startsWith("tick"))).toEqual(["micro", "zero", "a", "b", "c"]);
    expect(seen.filter((s) => s.startsWith("tick"))).toEqual(["tick1", "tick2", "tick3"]);
  });

  test("no timer survives its run: a reused context never runs an earlier run's callbacks", async () => {
    const script = compileForTest(`export default async (event) => {
      if (event.payload.leave) {
        setTimeout(() => { globalThis.leaked = (globalThis.leaked ?? 0) + 1; }, 20);
        setInterval(() => { globalThis.leaked = (globalThis.leaked ?? 0) + 1; }, 5);
        return "left timers behind";
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      return globalThis.leaked ?? "none fired";
    };`);
    const first = await executor.run(requestFor(script, { kind: "manual", payload: { leave: true } }));
    expect(first.result).toBe("left timers behind");
    const second = await executor.run(requestFor(script, { kind: "manual", payload: {} }));
    expect(second.error).toBeNull();
    expect(second.result).toBe("none fired");
    expect(executor.stats().contexts).toBeGreaterThan(0);
  });

  test("a run waiting only on a long timer ends at its wall-clock limit", async () => {
    const started = performance.now();
    const out = await executor.run(
      requestFor(compileForTest(`export default () => new Promise((resolve) => setTimeout(resolve, 60_000));`, { limits: { wallMs: 300 } })),
    );
    expect(out.status).toBe("timeout");
    expect(out.error?.code).toBe("wall_limit");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("a non-function callback is refused with TypeError, as workerd does", async () => {
    const out = await executor.run(requestFor(compileForTest(`export default () => { try { setTimeout("1 + 1", 1); } catch (e) { return e.name; } };`)));
    expect(out.result).toBe("TypeError");
  });
});
