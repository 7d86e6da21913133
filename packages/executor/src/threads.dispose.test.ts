import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// Alone in its file: the workers are seen through what executors post to
// them, and no other executor may be posting meanwhile.
describe("executor threads, disposed", () => {
  test("dispose settles only once every executor thread has exited, so a process may end right after it", async () => {
    // The executor's workers are the ones it posts runs or its dispose to.
    const workers = new Set<Worker>();
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
      const t = (message as { t?: unknown } | null)?.t;
      if (t === "runs" || t === "dispose") workers.add(this);
      return post.call(this, message, ...(rest as []));
    };
    try {
      const local = createExecutor({ host: memoryHost({}), threads: 2 });
      // Two apps, one on each thread (the least loaded takes a new app).
      const runs = ["app_a", "app_b"].map((appId) => local.run(requestFor({ ...compileForTest(`export default () => 1`), appId })));
      expect((await Promise.all(runs)).map((out) => out.status)).toEqual(["ok", "ok"]);
      await local.dispose();
      expect(workers.size).toBe(2);
      // A worker that has exited shows threadId -1 (Node sets it before its "exit" event).
      expect([...workers].map((worker) => worker.threadId)).toEqual([-1, -1]);
    } finally {
      Worker.prototype.postMessage = post;
    }
  });

  test("a process that only awaits dispose() sees it settle, then ends by itself", async () => {
    const fixture = fileURLToPath(new URL("./threads/dispose-exit.fixture.ts", import.meta.url));
    const child = spawn(process.execPath, ["--no-node-snapshot", "--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      // Not left behind should it hang.
      const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(stdout.trim())).toEqual({ status: "ok", result: 2, disposed: true });
  }, 30_000);
});
