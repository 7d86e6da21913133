import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { recordAudit, type Principal } from "@switchyard/core";
import { parseKeyring } from "@switchyard/crypto";
import { resultRows, type Db } from "@switchyard/db";
import { CHAIN_STARTED, sealAudit, sealingAuditKey, verifyAuditChains, type AuditVerifyReport, type ChainReport } from "@switchyard/server";
import { runCli } from "./support/cli.ts";
import { describeEachDriver } from "./support/databases.ts";

// Attacks by someone who can write the database but holds no master key:
// strip seals, delete checkpoints, and wait for the sealer to bless the result.

const masterKey = randomBytes(32).toString("base64");
const parsed = parseKeyring({ masterKey });
if (!parsed.ok) throw new Error(parsed.error.message);
const keyring = parsed.value;
const system: Principal = { type: "system", id: "audit-reset-test" };

const seal = (db: Db) => sealAudit(db, () => sealingAuditKey(db, keyring));

/** `n` rows in a workspace's chain, `ageMinutes` old (as if written then); their ids in order. */
async function write(db: Db, workspaceId: string | null, n: number, ageMinutes = 0): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    await recordAudit(db, system, { action: "secret.read", outcome: "ok", workspaceId, name: `S${i}` });
    const [row] = resultRows<{ id: string }>(await db.execute(sql`select max(id)::text as id from audit_log`));
    ids.push(Number(row!.id));
  }
  if (ageMinutes > 0) {
    await db.execute(sql`update audit_log set created_at = created_at - ${ageMinutes} * interval '1 minute' where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::bigint)`);
  }
  return ids;
}

const chainOf = (report: AuditVerifyReport, workspaceId: string | null): ChainReport => {
  const chain = report.chains.find((c) => c.workspace_id === workspaceId);
  if (!chain) throw new Error(`no chain ${workspaceId} in the report`);
  return chain;
};

async function unsealedIn(db: Db, workspaceId: string): Promise<number> {
  const [row] = resultRows<{ n: string }>(await db.execute(sql`select count(*)::text as n from audit_log where workspace_id = ${workspaceId} and chain_seq is null`));
  return Number(row!.n);
}

describeEachDriver("the audit chain against a database writer who strips seals", (ctx) => {
  const db = () => ctx.database.db;

  it("never reseals rows older than the chain's head, and verify reports them where the seals were removed", async () => {
    const ids = await write(db(), "ws_strip", 10, 60);
    await seal(db());
    await write(db(), "ws_strip", 2);
    await seal(db());
    // Rows 3-5: edited, then their seals removed so the sealer would take them as new.
    await db().execute(sql`update audit_log set name = 'forged' where id = ${ids[3]!}`);
    await db().execute(sql`update audit_log set chain_seq = null, chain_mac = null where id in (${ids[2]!}, ${ids[3]!}, ${ids[4]!})`);
    const pass = await seal(db());
    expect(pass.sealed).toBe(0);
    expect(pass.held).toEqual([expect.objectContaining({ chain: "ws_strip", reason: expect.stringMatching(/3 unsealed row\(s\) before the head \(first id/) })]);
    expect(await unsealedIn(db(), "ws_strip")).toBe(3);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_strip" }), "ws_strip");
    expect(chain).toMatchObject({ ok: false, rows_checked: 2, unsealed: 3, problem: { what: "unsealed", seq: 3, id: ids[2], after_id: ids[1], before_id: ids[5] } });
    expect(chain.problem!.message).toMatch(/^unsealed row before the head/);
    // New rows of the chain are still sealed after the held ones.
    const later = await write(db(), "ws_strip", 1);
    expect((await seal(db())).sealed).toBe(1);
    expect(resultRows<{ seq: string }>(await db().execute(sql`select chain_seq::text as seq from audit_log where id = ${later[0]!}`))[0]!.seq).toBe("13");
  });

  it("refuses to start again a chain whose seals and checkpoint were removed; verify says its head is missing", async () => {
    const ids = await write(db(), "ws_reset", 6);
    const first = await seal(db());
    expect(first.attested).toBeGreaterThanOrEqual(1);
    // The probe's attack: edit and delete sealed rows, strip every seal, delete the checkpoint.
    await db().execute(sql`update audit_log set name = 'forged' where id = ${ids[1]!}`);
    await db().execute(sql`delete from audit_log where id = ${ids[4]!}`);
    await db().execute(sql`update audit_log set chain_seq = null, chain_mac = null where workspace_id = 'ws_reset'`);
    await db().execute(sql`delete from audit_chain_heads where chain = 'ws_reset'`);
    const pass = await seal(db());
    expect(pass.refused).toEqual([expect.objectContaining({ chain: "ws_reset", reason: expect.stringMatching(/^chain head missing: the chain was started before/) })]);
    expect(await unsealedIn(db(), "ws_reset")).toBe(5);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_reset" }), "ws_reset");
    expect(chain).toMatchObject({ ok: false, rows_checked: 0, head: null, problem: { what: "checkpoint", seq: 1, id: ids[0] } });
    expect(chain.problem!.message).toMatch(/^chain head missing: the chain was started at id/);
    // A row written later changes nothing: the chain stays refused.
    await write(db(), "ws_reset", 1);
    expect((await seal(db())).refused.map((r) => r.chain)).toContain("ws_reset");
  });

  it("finds a chain reset whose recorded start was deleted too, as a row deleted from the global chain", async () => {
    const ids = await write(db(), "ws_reset_all", 3);
    await seal(db());
    // Something after the start in the global chain, so removing it leaves a gap, not a cut tail.
    await write(db(), null, 1);
    await seal(db());
    const [start] = resultRows<{ id: string; seq: string }>(
      await db().execute(sql`select id::text as id, chain_seq::text as seq from audit_log where action = ${CHAIN_STARTED} and details->>'workspace_id' = 'ws_reset_all'`),
    );
    await db().execute(sql`update audit_log set chain_seq = null, chain_mac = null where workspace_id = 'ws_reset_all'`);
    await db().execute(sql`delete from audit_chain_heads where chain = 'ws_reset_all'`);
    await db().execute(sql`delete from audit_log where id = ${start!.id}`);
    await seal(db());
    const report = await verifyAuditChains(db(), keyring);
    expect(chainOf(report, null)).toMatchObject({ ok: false, problem: { what: "deleted", seq: Number(start!.seq) } });
    expect(chainOf(report, "ws_reset_all")).toMatchObject({ ok: true, rows_checked: 3 });
    expect(ids).toHaveLength(3);
  });

  it("fails rows left unsealed past the grace period, and accepts them within it", async () => {
    const ids = await write(db(), "ws_idle", 2, 10);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_idle" }), "ws_idle");
    expect(chain).toMatchObject({ ok: false, unsealed: 2, overdue: 2, problem: { what: "unsealed", seq: 1, id: ids[0] } });
    expect(chain.problem!.message).toMatch(/not sealed for longer than the grace period/);
    const patient = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_idle", graceMs: 60 * 60_000 }), "ws_idle");
    expect(patient).toMatchObject({ ok: true, unsealed: 2, overdue: 0 });
  });
});

describeEachDriver("chain starts on a database sealed before they were recorded", (ctx) => {
  it("records the start of every chain that has a checkpoint and none, on the first pass", async () => {
    const db = ctx.database.db;
    const ids = await write(db, "ws_old", 3);
    await seal(db);
    // As a database chained before this release: no global chain, no recorded start.
    await db.execute(sql`delete from audit_log where workspace_id is null`);
    await db.execute(sql`delete from audit_chain_heads where chain = ''`);
    expect(chainOf(await verifyAuditChains(db, keyring), "ws_old").problem).toMatchObject({ what: "unattested", seq: 1 });
    const pass = await seal(db);
    expect(pass).toMatchObject({ sealed: 0, attested: 1, refused: [] });
    const report = await verifyAuditChains(db, keyring);
    expect(report.ok, JSON.stringify(report.chains.filter((c) => !c.ok))).toBe(true);
    const [start] = resultRows<{ details: { first_row: number; backfilled: boolean } }>(
      await db.execute(sql`select details from audit_log where action = ${CHAIN_STARTED} and details->>'workspace_id' = 'ws_old'`),
    );
    expect(start!.details).toEqual({ workspace_id: "ws_old", first_row: ids[0], backfilled: true });
  });

  it("refuses to start the global chain again once it has recorded starts", async () => {
    const db = ctx.database.db;
    await write(db, null, 2);
    await seal(db);
    await db.execute(sql`update audit_log set chain_seq = null, chain_mac = null where workspace_id is null`);
    await db.execute(sql`delete from audit_chain_heads where chain = ''`);
    const pass = await seal(db);
    expect(pass.refused).toEqual([expect.objectContaining({ chain: "", reason: expect.stringMatching(/^chain head missing: the global chain records chain starts/) })]);
    expect(chainOf(await verifyAuditChains(db, keyring, { workspace: null }), null).problem).toMatchObject({ what: "checkpoint", seq: 1 });
  });

  it("audit verify --workspace of a workspace with no trace exits 1 and says so; --grace sets the grace (postgres)", async () => {
    if (ctx.driver !== "postgres") return;
    const env = { DATABASE_URL: ctx.url!, SWITCHYARD_MASTER_KEY: masterKey };
    const none = await runCli(["audit", "verify", "--workspace", "ws_no_such"], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no workspace "ws_no_such" and no audit chain of that id/);
    expect(none.stdout).not.toMatch(/empty/);
    await write(ctx.database.db, "ws_slow", 1, 3);
    const strict = await runCli(["audit", "verify", "--workspace", "ws_slow", "--grace", "2m"], env);
    expect(strict.code, strict.stderr).toBe(1);
    expect(strict.stdout).toMatch(/ws_slow\s+BROKEN\s+unsealed at row 1/);
    expect((await runCli(["audit", "verify", "--workspace", "ws_slow"], env)).code).toBe(0);
  });
});
