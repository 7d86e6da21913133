/**
 * Run as a process of its own by threads.parked.test.ts: a thread V8 parks
 * for good cannot be joined, so a process holding one can only end by a
 * signal, and a test runner's worker must not be that process. It prints
 * one JSON line of what it saw, then ends itself with SIGKILL. With the
 * argument `pause` it runs a loop that its caller pauses the process in.
 */
import { createExecutor } from "../executor.ts";
import { compileForTest, memoryHost, requestFor } from "../test-helpers.ts";
import type { RunOutcome } from "../types.ts";
import { ENGINE_CRASH_SOURCE } from "./engine-crash.fixture.ts";

const reports: string[] = [];
const executor = createExecutor({ host: memoryHost(), threads: 1, onCatastrophicError: (message) => reports.push(message) });
const healthy = compileForTest("export default (event) => event.payload.n * 2", { appId: "app_healthy" });
const crashing = compileForTest(ENGINE_CRASH_SOURCE, { appId: "app_crashing", id: "script_crashing", version: 3, limits: { cpuMs: 200 } });
// Another script of the same app (one isolate): only the crashing version is blamed.
const sibling = compileForTest("export default () => 'sibling'", { appId: "app_crashing", id: "script_sibling" });
const brief = (outcome: RunOutcome) => ({ status: outcome.status, code: outcome.error?.code ?? null, result: outcome.result });

if (process.argv[2] === "pause") {
  // The caller stops this process (SIGSTOP) while the loop is in its entry,
  // for longer than the loop's timeout and the grace, then lets it go on.
  const loop = compileForTest("export default () => { for (;;) {} }", { appId: "app_looping", limits: { cpuMs: 2_000, wallMs: 30_000 } });
  const running = executor.run(requestFor(loop));
  setTimeout(() => console.log("LOOPING"), 200);
  const looped = brief(await running);
  const after = brief(await executor.run(requestFor(healthy, { kind: "manual", payload: { n: 4 } })));
  console.log(JSON.stringify({ looped, after, reports }));
} else {
  const started = Date.now();
  const first = brief(await executor.run(requestFor(healthy, { kind: "manual", payload: { n: 1 } })));
  // Handed to the one thread in the same turn: the other runs wait behind the crashing one.
  const [crashed, queued, queuedSibling] = (
    await Promise.all([executor.run(requestFor(crashing)), executor.run(requestFor(healthy, { kind: "manual", payload: { n: 2 } })), executor.run(requestFor(sibling))])
  ).map(brief);
  const endedMs = Date.now() - started;
  const after = brief(await executor.run(requestFor(healthy, { kind: "manual", payload: { n: 3 } })));
  console.log(JSON.stringify({ first, crashed, queued, queuedSibling, after, endedMs, reports, stats: executor.stats().activeRuns }));
}
process.kill(process.pid, "SIGKILL");
