/**
 * Run as a process of its own by threads.dispose.test.ts: an embedder that
 * awaits `dispose()` and nothing else. The executor's idle threads do not
 * keep a process alive, so unless `dispose()` holds them until they exit,
 * Node ends this process inside the await (exit code 13, the top-level
 * await never settled) while the threads are still closing.
 */
import { createExecutor } from "../executor.ts";
import { compileForTest, memoryHost, requestFor } from "../test-helpers.ts";

const executor = createExecutor({ host: memoryHost(), threads: 1 });
const outcome = await executor.run(requestFor(compileForTest("export default () => 2")));
await executor.dispose();
console.log(JSON.stringify({ status: outcome.status, result: outcome.result, disposed: true }));
