import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { recordAudit, type Principal } from "@switchyard/core";
import { parseKeyring } from "@switchyard/crypto";
import { connect, resultRows, type Db } from "@switchyard/db";
import { createBackup, openBackup, restoreBackup, sealAudit, sealingAuditKey, verifyAuditChains, type AuditVerifyReport, type ChainReport } from "@switchyard/server";
import { runCli } from "./support/cli.ts";
import { describeEachDriver, openPglite } from "./support/databases.ts";

const masterKey = randomBytes(32).toString("base64");
const parsed = parseKeyring({ masterKey });
if (!parsed.ok) throw new Error(parsed.error.message);
const keyring = parsed.value;
const system: Principal = { type: "system", id: "audit-test" };

const seal = (db: Db) => sealAudit(db, () => sealingAuditKey(db, keyring));

/** `n` audit rows in a workspace (null: the global chain); their ids, in order. */
async function write(db: Db, workspaceId: string | null, n: number): Promise<number[]> {
  for (let i = 0; i < n; i++) {
    await recordAudit(db, system, { action: "secret.read", outcome: "ok", workspaceId, name: `S${i}`, version: i + 1, details: { n: i, note: "ä ✓", nested: { b: 1, a: [1.5, null] } } });
  }
  return idsOf(db, workspaceId);
}

async function idsOf(db: Db, workspaceId: string | null): Promise<number[]> {
  return resultRows<{ id: string }>(
    await db.execute(sql`select id::text as id from audit_log where coalesce(workspace_id, '') = ${workspaceId ?? ""} order by chain_seq nulls last, audit_log.id`),
  ).map((r) => Number(r.id));
}

const chainOf = (report: AuditVerifyReport, workspaceId: string | null): ChainReport => {
  const chain = report.chains.find((c) => c.workspace_id === workspaceId);
  if (!chain) throw new Error(`no chain ${workspaceId} in the report`);
  return chain;
};

/** Every column but the id and the chain's own (position and MAC). */
const CONTENT = ["created_at", "actor_type", "actor_id", "action", "outcome", "workspace_id", "app_id", "scope", "scope_id", "name", "version", "details"];

async function swapColumns(db: Db, a: number, b: number, columns: string[]) {
  const set = columns.map((c) => `"${c}" = o."${c}"`).join(", ");
  // One statement: each row takes the other's values.
  await db.execute(
    sql.raw(`update audit_log t set ${set} from audit_log o where (t.id = ${a} and o.id = ${b}) or (t.id = ${b} and o.id = ${a})`),
  );
}

describeEachDriver("the tamper-evident audit log", (ctx) => {
  const db = () => ctx.database.db;
  const ids: Record<string, number[]> = {};

  beforeAll(async () => {
    const before = await count(db());
    // Rows written before anything seals them: the first pass chains them,
    // as it does for rows that predate migration 0012.
    for (const ws of ["ws_edit", "ws_delete", "ws_swap", "ws_move", "ws_cut", "ws_head", "ws_roll", "ws_clean"]) ids[ws] = await write(db(), ws, 10);
    ids.global = await write(db(), null, 3);
    expect((await verifyAuditChains(db(), keyring)).chains.every((c) => c.ok && c.rows_checked === 0 && c.unsealed > 0)).toBe(true);
    const pass = await seal(db());
    expect(pass.sealed).toBe(before + 8 * 10 + 3);
  });

  it("verifies a database whose every chain is intact, global chain included", async () => {
    const report = await verifyAuditChains(db(), keyring);
    expect(report.ok).toBe(true);
    expect(chainOf(report, "ws_clean")).toMatchObject({ ok: true, rows_checked: 10, unsealed: 0, head: { seq: 10, last_id: ids.ws_clean!.at(-1) } });
    expect(chainOf(report, null)).toMatchObject({ ok: true, unsealed: 0 });
  });

  it("finds an edited row at its place, and only in its chain", async () => {
    const target = ids.ws_edit![4]!;
    await db().execute(sql`update audit_log set details = '{"n": 4, "note": "edited"}'::jsonb where id = ${target}`);
    const report = await verifyAuditChains(db(), keyring);
    expect(chainOf(report, "ws_edit")).toMatchObject({ ok: false, rows_checked: 4, problem: { what: "edited", seq: 5, id: target } });
    expect(chainOf(report, "ws_clean").ok).toBe(true);
    expect(report.ok).toBe(false);
  });

  it("finds an edit below the millisecond (the timestamp is hashed with its microseconds)", async () => {
    const fresh = await write(db(), "ws_micro", 3);
    await seal(db());
    await db().execute(sql`update audit_log set created_at = created_at + interval '1 microsecond' where id = ${fresh[2]!}`);
    expect(chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_micro" }), "ws_micro").problem).toMatchObject({ what: "edited", seq: 3, id: fresh[2] });
  });

  it("finds a deleted row as a gap where it was", async () => {
    const [before, gone, after] = [ids.ws_delete![5]!, ids.ws_delete![6]!, ids.ws_delete![7]!];
    await db().execute(sql`delete from audit_log where id = ${gone}`);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_delete" }), "ws_delete");
    expect(chain).toMatchObject({ ok: false, rows_checked: 6, problem: { what: "deleted", seq: 7, id: null, after_id: before, before_id: after } });
  });

  it("finds two rows whose contents were swapped, at the first of them", async () => {
    const [a, b] = [ids.ws_swap![2]!, ids.ws_swap![7]!];
    await swapColumns(db(), a, b, CONTENT);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_swap" }), "ws_swap");
    expect(chain).toMatchObject({ ok: false, rows_checked: 2, problem: { what: "reordered", seq: 3, id: a, moved_from_id: b } });
  });

  it("finds two rows swapped whole (position and MAC too, ids left), at the first position", async () => {
    const [a, b] = [ids.ws_move![3]!, ids.ws_move![4]!];
    await swapColumns(db(), a, b, [...CONTENT, "chain_mac"]);
    // Positions are unique per chain, so they trade places through a spare one.
    const [seqA, seqB] = [4, 5];
    await db().execute(sql`update audit_log set chain_seq = -1 where id = ${a}`);
    await db().execute(sql`update audit_log set chain_seq = ${seqA} where id = ${b}`);
    await db().execute(sql`update audit_log set chain_seq = ${seqB} where id = ${a}`);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_move" }), "ws_move");
    // Position 4 now holds id b, carrying what was sealed as id a.
    expect(chain).toMatchObject({ ok: false, rows_checked: 3, problem: { what: "reordered", seq: 4, id: b, moved_from_id: a } });
  });

  it("finds a cut tail from the checkpoint, and the sealer will not extend the cut chain", async () => {
    const kept = ids.ws_cut![6]!;
    await db().execute(sql`delete from audit_log where workspace_id = 'ws_cut' and id > ${kept}`);
    const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_cut" }), "ws_cut");
    expect(chain).toMatchObject({ ok: false, rows_checked: 7, problem: { what: "truncated", seq: 8, id: null, after_id: kept } });
    await write(db(), "ws_cut", 1);
    const pass = await seal(db());
    expect(pass.refused).toEqual([expect.objectContaining({ chain: "ws_cut" })]);
    const again = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_cut" }), "ws_cut");
    expect(again).toMatchObject({ unsealed: 1, problem: { what: "truncated", seq: 8 } });
  });

  it("finds a deleted or forged checkpoint", async () => {
    const last = ids.ws_head!.at(-1)!;
    await db().execute(sql`update audit_chain_heads set seq = 9 where chain = 'ws_head'`);
    expect(chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_head" }), "ws_head").problem).toMatchObject({ what: "checkpoint" });
    await db().execute(sql`delete from audit_chain_heads where chain = 'ws_head'`);
    expect(chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_head" }), "ws_head").problem).toMatchObject({ what: "checkpoint", seq: 10, id: last });
  });

  it("finds a tail cut with its checkpoint rolled back only against a head kept outside the database", async () => {
    const [oldHead] = resultRows<{ row: string }>(await db().execute(sql`select to_jsonb(h)::text as row from audit_chain_heads h where chain = 'ws_roll'`));
    const more = await write(db(), "ws_roll", 4);
    await seal(db());
    const saved = await verifyAuditChains(db(), keyring, { workspace: "ws_roll" });
    expect(saved.ok).toBe(true);
    // The attacker deletes the newer rows and puts back the checkpoint they copied before.
    await db().execute(sql`delete from audit_log where workspace_id = 'ws_roll' and chain_seq > 10`);
    await db().execute(sql`delete from audit_chain_heads where chain = 'ws_roll'`);
    await db().execute(sql`insert into audit_chain_heads select * from jsonb_populate_record(null::audit_chain_heads, ${oldHead!.row}::jsonb)`);
    expect(chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_roll" }), "ws_roll").ok).toBe(true);
    const against = await verifyAuditChains(db(), keyring, { workspace: "ws_roll", against: saved.chains });
    expect(chainOf(against, "ws_roll")).toMatchObject({ ok: false, problem: { what: "truncated", seq: 11, after_id: ids.ws_roll!.at(-1) } });
    expect(more).toHaveLength(14);
  });

  it("chains concurrent writes in two workspaces, sealed while they write, into valid chains", async () => {
    const writers = ["ws_conc_a", "ws_conc_b"].map(async (ws) => {
      for (let i = 0; i < 8; i++) await Promise.all(Array.from({ length: 5 }, (_, j) => recordAudit(db(), system, { action: "secret.read", outcome: "ok", workspaceId: ws, name: `C${i}-${j}` })));
    });
    const sealing = (async () => {
      for (let i = 0; i < 5; i++) await seal(db());
    })();
    await Promise.all([...writers, sealing]);
    await seal(db());
    const report = await verifyAuditChains(db(), keyring);
    expect(chainOf(report, "ws_conc_a")).toMatchObject({ ok: true, rows_checked: 40, unsealed: 0 });
    expect(chainOf(report, "ws_conc_b")).toMatchObject({ ok: true, rows_checked: 40, unsealed: 0 });
  });

  it("still verifies after a backup is restored into an empty database", async () => {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-audit-"));
    const target = await openPglite();
    try {
      const file = join(dir, "b.age");
      const keys = { passphrase: "correct horse battery staple audit" };
      await createBackup(db(), { out: file, keys, keyring, scryptLogN: 10 });
      await restoreBackup(target.db, await openBackup(file, keys), { keyring });
      const before = await verifyAuditChains(db(), keyring);
      const after = await verifyAuditChains(target.db, keyring);
      expect(after.chains).toEqual(before.chains);
      expect(chainOf(after, "ws_clean")).toMatchObject({ ok: true, rows_checked: 10 });
    } finally {
      await target.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("chains a row whose transaction commits after later rows were sealed (postgres)", async () => {
    if (ctx.driver !== "postgres") return;
    const other = await connect({ url: ctx.url!, poolSize: 1 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const early = new Promise<void>((resolve) => (inserted = resolve));
      const late = other.db.transaction(async (tx) => {
        await recordAudit(tx, system, { action: "secret.write", outcome: "ok", workspaceId: "ws_late" });
        inserted();
        await held;
      });
      await early;
      await write(db(), "ws_late", 2);
      await seal(db());
      release();
      await late;
      await seal(db());
      const chain = chainOf(await verifyAuditChains(db(), keyring, { workspace: "ws_late" }), "ws_late");
      expect(chain).toMatchObject({ ok: true, rows_checked: 3, unsealed: 0 });
      const order = await idsOf(db(), "ws_late");
      // The lowest id committed last, so it holds the last position.
      expect(order.at(-1)).toBe(Math.min(...order));
    } finally {
      await other.close();
    }
  });

  it("audit verify, the command, reports each broken chain and exits 1; 0 on an intact chain (postgres)", async () => {
    if (ctx.driver !== "postgres") return;
    const env = { DATABASE_URL: ctx.url!, SWITCHYARD_MASTER_KEY: masterKey };
    const all = await runCli(["audit", "verify", "--json"], env);
    expect(all.code, all.stderr).toBe(1);
    const report = JSON.parse(all.stdout) as AuditVerifyReport;
    expect(chainOf(report, "ws_edit").problem).toMatchObject({ what: "edited", seq: 5, id: ids.ws_edit![4] });
    expect(chainOf(report, "ws_delete").problem).toMatchObject({ what: "deleted", seq: 7 });
    expect(chainOf(report, "ws_swap").problem).toMatchObject({ what: "reordered", seq: 3 });
    expect(chainOf(report, "ws_cut").problem).toMatchObject({ what: "truncated", seq: 8 });
    const clean = await runCli(["audit", "verify", "--workspace", "ws_clean"], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/ws_clean\s+ok\s+10 rows/);
    const text = await runCli(["audit", "verify", "--workspace", "ws_delete"], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ws_delete\s+BROKEN\s+deleted at row 7/);
    const wrongKey = await runCli(["audit", "verify", "--workspace", "ws_clean"], { ...env, SWITCHYARD_MASTER_KEY: randomBytes(32).toString("base64") });
    expect(wrongKey.code).toBe(1);
  });
});

describeEachDriver("the audit log on a fresh database", (ctx) => {
  it("verifies with nothing sealed yet, and after the first pass chains the rows it holds", async () => {
    const before = await count(ctx.database.db);
    const empty = await verifyAuditChains(ctx.database.db, keyring);
    expect(empty.ok).toBe(true);
    await recordAudit(ctx.database.db, system, { action: "token.create", outcome: "ok" });
    await seal(ctx.database.db);
    const report = await verifyAuditChains(ctx.database.db, keyring);
    expect(report.ok).toBe(true);
    expect(report.chains.reduce((sum, c) => sum + c.rows_checked, 0)).toBe(before + 1);
  });
});

async function count(db: Db): Promise<number> {
  const [row] = resultRows<{ n: string }>(await db.execute(sql`select count(*)::text as n from audit_log`));
  return Number(row?.n ?? 0);
}
