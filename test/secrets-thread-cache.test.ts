import { createHmac, randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { auditLog, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// Issue #17: on the server's executor threads, a run's repeated secrets.get
// is answered on the thread from what the main thread answered the run
// before. The main thread still answers each run's first read of a secret
// (and its first read after a change): one audit row per run and version,
// the value masked in the run's output, a bound secret's placeholder made
// there and its value never sent to a thread.

const VALUE = `sk_live_${randomBytes(16).toString("hex")}`;
const BOUND_VALUE = `bound_${randomBytes(16).toString("hex")}`;

describeEachDriver("secrets answered on executor threads", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  /** The run ids and names of the reads that reached the main thread's secrets service. */
  let resolved: Array<{ runId: string; name: string }>;

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true, settings: { executorThreads: 2 } });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "thread-cache" })).json.id;
    for (const [name, value, bound_hosts] of [
      ["TOKEN", VALUE, null],
      ["ROTATING", "rotating_v0", null],
      ["BOUND", BOUND_VALUE, ["api.example.com"]],
    ] as const) {
      const set = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name, value, bound_hosts });
      expect(set.status, JSON.stringify(set.json)).toBe(201);
    }
  });
  beforeAll(() => {
    resolved = [];
    // The script host calls the service's resolveSecret for every read that reaches the main thread.
    const real = built.secrets.resolveSecret.bind(built.secrets);
    vi.spyOn(built.secrets, "resolveSecret").mockImplementation(async (app, name, actor) => {
      resolved.push({ runId: actor.id, name });
      return real(app, name, actor);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await built?.services.stop();
  });

  async function invoke(source: string): Promise<string> {
    const deployed = await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: `s${Math.random().toString(36).slice(2, 8)}`, source });
    expect(deployed.status, JSON.stringify(deployed.json)).toBe(201);
    const invoked = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${deployed.json.id}/invoke`, { payload: {} });
    expect(invoked.status, JSON.stringify(invoked.json)).toBe(202);
    return invoked.json.event_id as string;
  }
  const finished = (eventId: string) =>
    waitFor(async () => {
      const [row] = await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId));
      return row && row.status !== "running" && row;
    }, 30_000);
  const reads = (runId: string, name: string) => resolved.filter((r) => r.runId === runId && r.name === name).length;
  const readAudits = async (runId: string, name: string) =>
    (await ctx.database.db.select().from(auditLog).where(and(eq(auditLog.actorId, runId), eq(auditLog.action, "secret.read"), eq(auditLog.name, name)))).map((row) => row.version);

  it("a run's repeated reads are answered on its thread: the main thread answers the first, writes one audit row, and the logs stay masked", async () => {
    const row = await finished(
      await invoke(`export default async () => {
        const first = await secrets.get("TOKEN");
        let same = 0;
        for (let i = 0; i < 50; i++) if ((await secrets.get("TOKEN")) === first) same++;
        console.log("using " + first);
        return { same, missing: await secrets.get("NOT_SET"), again: await secrets.get("NOT_SET") };
      }`),
    );
    expect(row.error).toBeNull();
    expect(row.result).toEqual({ same: 50, missing: null, again: null });
    expect(reads(row.id, "TOKEN")).toBe(1);
    expect(reads(row.id, "NOT_SET")).toBe(1);
    expect(await readAudits(row.id, "TOKEN")).toEqual([1]);
    const logs = JSON.stringify(row.logs);
    expect(logs).toContain("using [secret:TOKEN]");
    expect(logs).not.toContain(VALUE);
  });

  it("a bound secret answers the same placeholder on every read; signing with it goes to the main thread; its value is never posted to a thread", async () => {
    const posted: string[] = [];
    const post = Worker.prototype.postMessage;
    const spy = vi.spyOn(Worker.prototype, "postMessage").mockImplementation(function (this: Worker, message: unknown, transfer?: Parameters<Worker["postMessage"]>[1]) {
      posted.push(JSON.stringify(message));
      return post.call(this, message, transfer);
    });
    const row = await finished(
      await invoke(`export default async () => {
        const seen = new Set();
        for (let i = 0; i < 10; i++) seen.add(await secrets.get("BOUND"));
        const token = await secrets.get("TOKEN");
        const signed = await secrets.sign("BOUND", "payload");
        const signedAgain = await secrets.sign("BOUND", "payload");
        const tokenSigned = await secrets.sign("TOKEN", "payload");
        return { placeholders: [...seen].map((p) => /^sy_bound_/.test(p)), signed, same: signed === signedAgain, tokenSigned, sameToken: token.length };
      }`),
    ).finally(() => spy.mockRestore());
    expect(row.error).toBeNull();
    const hmac = (key: string) => createHmac("sha256", key).update("payload").digest("hex");
    expect(row.result).toEqual({ placeholders: [true], signed: hmac(BOUND_VALUE), same: true, tokenSigned: hmac(VALUE), sameToken: VALUE.length });
    // One read for the placeholder, one per signature with the bound value: each on the main thread.
    expect(reads(row.id, "BOUND")).toBe(3);
    // TOKEN's value is on the thread already: its signature is computed there.
    expect(reads(row.id, "TOKEN")).toBe(1);
    expect(await readAudits(row.id, "BOUND")).toEqual([1]);
    // What the main thread sent the threads: TOKEN's value (the script holds it), never BOUND's.
    const sent = posted.join("\n");
    expect(sent).toContain(VALUE);
    expect(sent).not.toContain(BOUND_VALUE);
  });

  it("a value set mid-run through the API is seen by every read the run starts after the write answered, audited once per version", async () => {
    const eventId = await invoke(`export default async () => {
      const seen = [];
      let last = null;
      let reads = 0;
      const until = Date.now() + 20000;
      while (seen.length < 3 && Date.now() < until) {
        const started = Date.now();
        const value = await secrets.get("ROTATING");
        reads++;
        if (value !== last) {
          seen.push({ tail: value.slice(-2), lastStarted: started });
          last = value;
        }
        // When the last read that still answered this value started.
        seen[seen.length - 1].lastStarted = started;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return { seen, reads };
    }`);
    // The run has read the first value (no other run reads ROTATING; its row is written when it ends).
    const runId = await waitFor(async () => resolved.find((r) => r.name === "ROTATING")?.runId, 15_000, 5);
    const written: number[] = [];
    for (const value of ["rotating_v1", "rotating_v2"]) {
      // Time for the run to repeat the value it holds from its thread.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const set = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "ROTATING", value });
      expect(set.status).toBe(200);
      written.push(Date.now());
      // The next change only once the run has read this one from the main thread (a read after
      // the write's answer gets the new value), however slow a loaded machine makes its loop.
      const crossed = reads(runId, "ROTATING");
      await waitFor(async () => reads(runId, "ROTATING") > crossed || undefined, 15_000, 5);
    }
    const row = await finished(eventId);
    expect(row.error).toBeNull();
    expect(row.id).toBe(runId);
    const result = row.result as { seen: Array<{ tail: string; lastStarted: number }>; reads: number };
    expect(result.seen.map((s) => s.tail)).toEqual(["v0", "v1", "v2"]);
    // No read that started after a write was answered (the API's 200) got the value before it. The
    // isolate and this test read one clock; 2 ms covers Date.now()'s rounding at both ends.
    expect(result.seen[0]!.lastStarted, JSON.stringify({ seen: result.seen, written })).toBeLessThanOrEqual(written[0]! + 2);
    expect(result.seen[1]!.lastStarted, JSON.stringify({ seen: result.seen, written })).toBeLessThanOrEqual(written[1]! + 2);
    // Most reads were answered on the thread: the first, one after each change, and one a second at most besides.
    expect(result.reads).toBeGreaterThanOrEqual(10);
    expect(reads(runId, "ROTATING")).toBeLessThanOrEqual(3 + 2);
    expect((await readAudits(runId, "ROTATING")).sort()).toEqual([1, 2, 3]);
  });
});
