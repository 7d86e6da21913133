import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const fixture = fileURLToPath(new URL("./threads/parked-thread.fixture.ts", import.meta.url));

function runFixture(mode = "crash", onLine: (line: string, child: ReturnType<typeof spawn>) => void = () => {}): Promise<{ line: string; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--no-node-snapshot", "--import", "tsx", fixture, mode], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onLine(stdout, child);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the fixture did not end within 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once("exit", (_code, signal) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ line: stdout.trim().split("\n").pop() ?? "", signal, stderr }));
    });
  });
}

describe("an executor thread that V8 parks inside an isolate", () => {
  test("ends that script version's run as isolate_crashed, the runs queued behind it (its app's other script too) as collateral, reports it once, and serves the next runs on a new thread", async () => {
    const { line, signal, stderr } = await runFixture();
    expect(signal, stderr).toBe("SIGKILL");
    const seen = JSON.parse(line);
    expect(seen.first).toEqual({ status: "ok", code: null, result: 2 });
    expect(seen.crashed).toMatchObject({ status: "error", code: "isolate_crashed" });
    expect(seen.queued).toMatchObject({ status: "error", code: "isolate_disposed" });
    expect(seen.queuedSibling).toMatchObject({ status: "error", code: "isolate_disposed" });
    expect(seen.after).toEqual({ status: "ok", code: null, result: 6 });
    // The entry's timeout (200 ms of CPU plus 25 ms) and the 5 s grace, seen overdue on two checks a second apart.
    expect(seen.endedMs).toBeGreaterThan(5_000);
    expect(seen.endedMs).toBeLessThan(15_000);
    expect(seen.reports).toHaveLength(1);
    expect(seen.reports[0]).toMatch(/inside the isolate of app app_crashing \(script script_crashing@3\)/);
    expect(seen.stats).toBe(0);
  }, 90_000);

  test("a process paused past an entry's timeout and the grace is not taken for a stuck thread: the loop ends at its limit", async () => {
    let paused = false;
    const { line, signal, stderr } = await runFixture("pause", (out, child) => {
      if (paused || !out.includes("LOOPING")) return;
      paused = true;
      // Longer than the loop's 2 s budget plus the 5 s grace.
      child.kill("SIGSTOP");
      setTimeout(() => child.kill("SIGCONT"), 9_000);
    });
    expect(signal, stderr).toBe("SIGKILL");
    const seen = JSON.parse(line);
    expect(seen.looped.status).toBe("timeout");
    expect(seen.looped.code).toMatch(/^(cpu|wall)_limit$/);
    expect(seen.after).toEqual({ status: "ok", code: null, result: 8 });
    expect(seen.reports).toEqual([]);
  }, 90_000);
});
