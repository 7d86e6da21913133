import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { claim, createApp, enqueue, silentLogger, type ClaimedEvent } from "@switchyard/core";
import { deadLetters, outbox, runs } from "@switchyard/db";
import { createCompletionBatch } from "@switchyard/dispatcher";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

const SYSTEM = { type: "system" as const, id: "test" };

describeEachDriver("what a run cannot store still ends as a run row", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  const db = () => ctx.database.db;

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "storage" })).json.id;
  });
  let stopped = false;
  const stopWorker = async () => {
    if (!stopped) await built?.services.stop();
    stopped = true;
  };
  afterAll(stopWorker);

  async function invoke(name: string, source: string): Promise<string> {
    const script = await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source });
    expect(script.status).toBe(201);
    const invoked = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${script.json.id}/invoke`, { payload: null });
    expect(invoked.status).toBe(202);
    return invoked.json.event_id as string;
  }

  const runsOf = (eventId: string) => db().select().from(runs).where(eq(runs.eventId, eventId)).orderBy(runs.attempt);
  /** The event's run rows, once there is one. */
  const recorded = (eventId: string) =>
    waitFor(async () => {
      const rows = await runsOf(eventId);
      return rows.length > 0 && rows;
    });

  it("records each attempt of a script returning 'x\\0y' as result_not_storable, then dead-letters it with that error", async () => {
    const eventId = await invoke("nul-result", "export default () => 'x\\0y'");
    const [letter] = await waitFor(async () => {
      const rows = await db().select().from(deadLetters).where(eq(deadLetters.eventId, eventId));
      return rows.length > 0 && rows;
    }, 20_000);
    expect(letter!.lastError).toMatchObject({ code: "result_not_storable" });
    const attempts = await runsOf(eventId);
    expect(attempts.map((r) => [r.attempt, r.status, (r.error as { code: string }).code, r.result])).toEqual([
      [1, "error", "result_not_storable", null],
      [2, "error", "result_not_storable", null],
      [3, "error", "result_not_storable", null],
    ]);
    expect((attempts[0]!.error as { message: string }).message).toMatch(/U\+0000/);
  }, 30_000);

  it("stores log lines and thrown messages with U+0000 as the visible text \\u0000 and a lone surrogate as U+FFFD", async () => {
    const eventId = await invoke(
      "nul-logs",
      "export default () => { console.log('a\\0b', '\\uD800'); throw new NonRetryableError('bad\\0thing'); }",
    );
    const [run] = await recorded(eventId);
    expect(run!.logs).toMatchObject([{ message: "a\\u0000b \uFFFD" }]);
    expect(run!.error).toMatchObject({ message: "bad\\u0000thing" });
  });

  it("refuses a result nested deeper than 100 levels without storing any of it", async () => {
    const eventId = await invoke("deep-result", "export default () => { let v = 1; for (let i = 0; i < 150; i++) v = [v]; return v; }");
    const [run] = await recorded(eventId);
    expect(run).toMatchObject({ status: "error", result: null, error: { code: "result_not_storable" } });
  });

  it("records a run that read a secret and returned a result 2,000 deep as result_not_storable (masking it no longer overflows the stack)", async () => {
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "DEEP_KEY", value: { token: "tok_deep_secret" } })).status).toBe(201);
    const eventId = await invoke(
      "deep-secret-result",
      "export default async () => { const k = await secrets.get('DEEP_KEY'); let v = k.token; for (let i = 0; i < 2000; i++) v = { a: v }; return v; }",
    );
    const [run] = await recorded(eventId);
    expect(run).toMatchObject({ status: "error", result: null, error: { code: "result_not_storable" } });
  });

  it("records a completion the database refuses for its data as a bare error run, and writes its batch-mates as they were", async () => {
    // The worker stops first: running, it could claim (and finish) the two events before this test does.
    await stopWorker();
    const app = await createApp(db(), SYSTEM, { name: "refused" });
    const ids = await db().transaction(async (tx) => [
      await enqueue(tx, { appId: app.id, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }),
      await enqueue(tx, { appId: app.id, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }),
    ]);
    const claimed = (await claim(db(), { limit: 100, leaseMs: 60_000 })).filter((c) => ids.includes(c.id));
    expect(claimed).toHaveLength(2);
    const [good, refused] = ids.map((id) => claimed.find((c) => c.id === id)!) as [ClaimedEvent, ClaimedEvent];
    const record = (runId: string, durationMs: number) => ({
      runId, scriptVersion: 1, status: "ok" as const, durationMs, cpuMs: 1, logs: [{ level: "log", message: "kept?", at: 1 }], logsTruncated: false, result: { fine: true }, error: null,
    });
    const batch = createCompletionBatch({ db: db(), logger: silentLogger, maxBatch: 10, delayMs: 5 });
    // 2^31 ms does not fit the runs table's integer column: SQLSTATE 22003, a refusal of the data.
    const results = await Promise.all([
      batch.add({ claim: good, record: record("run_good", 5), failure: null }),
      batch.add({ claim: refused, record: record("run_refused", 2 ** 31), failure: null }),
    ]);
    expect(results).toEqual(["done", "retrying"]);
    expect(await runsOf(good.id)).toMatchObject([{ id: "run_good", status: "ok", result: { fine: true } }]);
    const [bare] = await runsOf(refused.id);
    expect(bare).toMatchObject({ id: "run_refused", status: "error", logs: [], result: null, error: { code: "result_not_storable" } });
    expect((bare!.error as { message: string }).message).toContain("22003");
    const [row] = await db().select().from(outbox).where(eq(outbox.id, refused.id));
    expect(row).toMatchObject({ leaseToken: null, lastError: { code: "result_not_storable" } });
  });
});
