/**
 * A tenant script that makes V8 give up on its isolate. Recursing to the
 * stack limit and compiling a regular expression in the `catch` ends in
 * V8's fatal out-of-memory path ("RegExpCompiler Allocation failed"), which
 * node:vm answers by aborting the process. Under isolated-vm the executor
 * thread is parked for good instead, and isolated-vm's report of it never
 * arrives: before the entry watch, every app pinned to that thread stopped
 * running and the server could no longer exit.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ENGINE_CRASH_SOURCE } from "../packages/executor/src/threads/engine-crash.fixture.ts";
import { bootstrapToken, finished, listeningUrl, runCli, startCli } from "./support/cli.ts";

describe("a script that makes V8 give up on its isolate", () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((cleanup) => cleanup()));

  it("ends its run as isolate_crashed, not retried; the server stops gracefully and ends by SIGKILL instead of hanging; the version is quarantined until a new deploy", async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sy-crash-")), "data");
    const env = { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_EXECUTOR_THREADS: "1", SWITCHYARD_LOG_LEVEL: "info" };
    const server = startCli(["serve", "--dev", "--port", "0"], env);
    cleanups.push(() => void server.kill("SIGKILL"));
    let url = await listeningUrl(server);
    const token = await bootstrapToken(server);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      expect(response.status, `${path}: ${await response.clone().text()}`).toBeLessThan(300);
      return (await response.json()) as any;
    };
    const deploy = async (name: string, source: string) => {
      const app = await post("/api/v1/admin/apps", { name });
      const script = await post(`/api/v1/admin/apps/${app.id}/scripts`, { name, source, limits: { cpu_ms: 200 } });
      const trigger = await post(`/api/v1/admin/apps/${app.id}/triggers`, { kind: "http", name, script_id: script.id, config: {}, retry: { max_attempts: 3, backoff: "fixed", base_ms: 100 } });
      return { app, script, trigger };
    };
    const runsOf = async (appId: string, eventId: string, wanted: number) => {
      for (let i = 0; i < 400; i++) {
        const found = (await (await fetch(`${url}/api/v1/admin/apps/${appId}/runs`, { headers })).json()) as any;
        const runs = found.runs.filter((run: any) => run.event_id === eventId);
        if (runs.length >= wanted) return runs;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no run of ${eventId}`);
    };
    const healthy = await deploy("healthy", "export default (event) => ({ echoed: event.payload })");
    const crashing = await deploy("crashing", ENGINE_CRASH_SOURCE);
    const fire = async (triggerId: string, payload: unknown) => {
      const response = await fetch(`${url}/api/v1/hooks/${triggerId}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
      expect(response.status).toBe(202);
      return ((await response.json()) as any).event_id as string;
    };

    const before = await fire(healthy.trigger.id, { n: 1 });
    expect((await runsOf(healthy.app.id, before, 1))[0].status).toBe("ok");
    const crashed = await fire(crashing.trigger.id, {});

    // The server stops (SIGTERM's graceful path) and ends by SIGKILL: a
    // normal exit would wait on the stuck thread forever.
    const exit = await finished(server, 60_000);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: null, signal: "SIGKILL" });
    expect(exit.stdout).toMatch(/catastrophic error; stopping, then ending the process by SIGKILL/);
    // Dev mode's log lines are coloured and the fields go on the next line.
    expect(exit.stdout).toMatch(/received signal\S*\s+\S*signal\S*: "catastrophe"/);

    // The run was recorded during the stop, and is not retried: the trigger allows 3 attempts.
    const again = startCli(["serve", "--dev", "--port", "0"], env);
    cleanups.push(() => void again.kill("SIGKILL"));
    url = await listeningUrl(again);
    const [run] = await runsOf(crashing.app.id, crashed, 1);
    expect(run.status).toBe("error");
    expect(run.error.code).toBe("isolate_crashed");
    // Well past the 100 ms backoff: still one attempt, and a dead letter.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await runsOf(crashing.app.id, crashed, 1)).toHaveLength(1);
    const dead = (await (await fetch(`${url}/api/v1/admin/apps/${crashing.app.id}/dead-letters`, { headers })).json()) as any;
    expect(JSON.stringify(dead)).toContain(crashed);

    // The version is quarantined: its next event is refused without running
    // (this server would otherwise stop again), and a new deploy lifts it.
    const scriptUrl = `${url}/api/v1/admin/apps/${crashing.app.id}/scripts/${crashing.script.id}`;
    expect(((await (await fetch(scriptUrl, { headers })).json()) as any).quarantine).toMatchObject({ version: 1, run_id: run.id });
    const listed = await runCli(["scripts", "list", "--app", crashing.app.id], { SWITCHYARD_URL: url, SWITCHYARD_TOKEN: token });
    expect(listed.stdout).toMatch(/\ncrashing\s+1 \(quarantined\)\s+js\s/);
    const refusedEvent = await fire(crashing.trigger.id, {});
    const [refused] = await runsOf(crashing.app.id, refusedEvent, 1);
    expect(refused).toMatchObject({ status: "error", script_version: 1, cpu_ms: 0, error: { code: "script_quarantined" } });
    expect(again.exitCode).toBeNull();
    const fixed = await fetch(scriptUrl, { method: "PUT", headers, body: JSON.stringify({ source: "export default () => ({ fixed: true })" }) });
    expect(fixed.status).toBe(200);
    expect(((await fixed.json()) as any).quarantine).toBeNull();
    const [afterFix] = await runsOf(crashing.app.id, await fire(crashing.trigger.id, {}), 1);
    expect(afterFix).toMatchObject({ status: "ok", script_version: 2 });
    again.kill("SIGTERM");
    expect((await finished(again)).code).toBe(0);
  }, 120_000);
});
