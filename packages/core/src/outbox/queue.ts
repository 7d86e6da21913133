import { sql, type SQL } from "drizzle-orm";
import { notifyIn, outbox, resultRows, type Db, type RetryPolicy } from "@switchyard/db";
import { newId } from "../ids.ts";
import { executePrepared, executeSerialized } from "./prepared.ts";
import { DEFAULT_RETRY } from "./retry.ts";

/**
 * An outbox row a worker may claim now: due, and not leased (never, or its
 * lease ran out). One definition for the claim and for every figure that
 * counts claimable work (/metrics, the queue sampler).
 */
export const CLAIMABLE = sql.raw(claimableSql(""));

/** CLAIMABLE for the rows of a named table alias. */
const claimableIn = (alias: string) => sql.raw(claimableSql(`${alias}.`));

function claimableSql(prefix: string): string {
  return `${prefix}run_at <= now() and (${prefix}lease_until is null or ${prefix}lease_until < now())`;
}

/** NOTIFY channel that wakes workers when an event is enqueued. */
export const OUTBOX_CHANNEL = "switchyard_outbox";

export type OutboxRow = typeof outbox.$inferSelect;

export interface EnqueueInput {
  appId: string;
  scriptId: string;
  triggerId?: string | null;
  kind: string;
  /** The whole event as the script receives it (`{ kind, ... }`). */
  event: unknown;
  retry?: RetryPolicy | undefined;
  depth?: number;
  origin: string;
  replayOf?: string | null;
  id?: string;
}

/**
 * Enqueues one event with `tx`: it exists only if `tx` commits, and the NOTIFY
 * that wakes workers is delivered at that commit too.
 */
export async function enqueue(tx: Db, input: EnqueueInput): Promise<string> {
  const id = input.id ?? newId("evt");
  await tx.insert(outbox).values({
    id,
    appId: input.appId,
    scriptId: input.scriptId,
    triggerId: input.triggerId ?? null,
    kind: input.kind,
    event: input.event,
    retry: input.retry ?? DEFAULT_RETRY,
    depth: input.depth ?? 0,
    origin: input.origin,
    replayOf: input.replayOf ?? null,
  });
  // The payload names the app: a worker busy with it need not claim for a newcomer (dispatcher.ts).
  await notifyIn(tx, OUTBOX_CHANNEL, input.appId);
  return id;
}

/** A claimed row: `attempts` is the number of the attempt about to run. */
export type Claim = OutboxRow & { leaseToken: string };

/**
 * What a run needs besides the row, read by the claim statement itself so
 * that starting a run costs no further query: the app's name, the script's
 * current version (its code is cached by version) and the trigger. Each is
 * null when the row it names no longer exists.
 */
export interface ClaimContext {
  appName: string | null;
  scriptVersion: number | null;
  /** `scriptVersion` stopped the engine on an earlier run: quarantined, it does not run (quarantine.ts). */
  quarantined: boolean;
  /** The app's workspace, read with the claim: a crash is counted against it even if the app is deleted during the run. */
  workspaceId: string | null;
  /** The app's workspace is blocked for stopping the engine too often: nothing of it runs (quarantine.ts). */
  workspaceBlocked: boolean;
  trigger: { id: string; kind: string; name: string } | null;
}

export type ClaimedEvent = Claim & { context: ClaimContext };

interface ClaimedRow {
  /** Negative for a preferred app's turn, else the rotation's lap. */
  turn_lap: number;
  /** The claim took the fast path (one app in the outbox, no cap). */
  lone: boolean;
  id: string;
  app_id: string;
  script_id: string;
  trigger_id: string | null;
  kind: string;
  event: unknown;
  retry: RetryPolicy;
  attempts: number;
  run_at_ms: number | string;
  lease_token: string;
  lease_until_ms: number | string;
  depth: number;
  origin: string;
  replay_of: string | null;
  last_error: unknown;
  first_attempt_at_ms: number | string | null;
  created_at_ms: number | string;
  app_name: string | null;
  workspace_id: string | null;
  script_version: number | null;
  script_quarantined: boolean | null;
  workspace_blocked: boolean | null;
  trigger_kind: string | null;
  trigger_name: string | null;
}

// Timestamps leave the database as epoch milliseconds: raw results carry
// them as driver-specific strings otherwise (drizzle turns date parsing off).
const epochMs = (column: string) => sql.raw(`(extract(epoch from c.${column}) * 1000)::float8`);
const toDate = (ms: number | string) => new Date(Number(ms));

/**
 * An integer written into the statement, not sent as a parameter: a LIMIT
 * the planner can read picks the index that yields rows in order (it
 * assumes a tenth of the rows for a LIMIT it cannot read, and then sorts the
 * app's whole backlog: measured 20-50 ms a claim at 10,000 rows).
 */
function literal(n: number): SQL {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a row count: ${n}`);
  return sql.raw(String(n));
}

/** Few distinct statement texts (each is prepared once per connection), still bounding the scan. */
function roundUpToPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/**
 * The turns of the apps in `source` (app_id, lap), in its order: each app's
 * caps and what workers hold of it now. Excluded apps have no turn.
 */
function turnsOf(source: SQL, caps: { app: number | null; workspace: number | null }): SQL {
  return sql`
      select r.app_id, r.lap, cap.workspace_id, cap.app_cap, cap.workspace_cap,
             case when cap.app_cap is null then 0
                  else coalesce((select h.n from held_by_app h where h.app_id = r.app_id), 0) end as app_held,
             case when cap.workspace_cap is null then 0
                  else coalesce((select h.n from held_by_workspace h where h.workspace_id = cap.workspace_id), 0) end as workspace_held
      from ${source} r
      -- A lateral subquery the planner may not flatten (offset 0), so the
      -- rotation stays the outer side of a nested loop and keeps its order
      -- without a sort that would read every app (a hash join would not).
      cross join lateral (
        select a.workspace_id, coalesce(a.concurrency, ${caps.app}::int) as app_cap, coalesce(w.concurrency, ${caps.workspace}::int) as workspace_cap
        from apps a join workspaces w on w.id = a.workspace_id
        where a.id = r.app_id and not exists (select 1 from excluded x where x.app_id = r.app_id)
        offset 0
      ) cap`;
}

/**
 * Each app's turn among the turns in `source` that `which` selects: its
 * oldest due rows, at most a quantum and what its cap leaves, until `limit`
 * rows are taken.
 */
function firstRound(source: SQL, which: SQL, limit: SQL, quantum: number, resumed: ResumedTurn | null): SQL {
  // A turn the previous claim cut short continues with what is left of its quantum.
  // Parameters, one statement text either way (prepared once per connection).
  const share = sql`case when t.app_id = ${resumed?.appId ?? ""} then ${Math.max(0, quantum - (resumed?.taken ?? 0))}::int else ${literal(quantum)} end`;
  return sql`
      select t.app_id, t.lap, t.workspace_id, t.workspace_cap, t.workspace_held, t.app_cap, t.app_held, e.id, e.run_at, e.n
      from ${source} t
      cross join lateral (
        select o.id, o.run_at, row_number() over (order by o.run_at, o.id) as n from outbox o
        where o.app_id = t.app_id and ${claimableIn("o")}
        order by o.run_at, o.id
        limit ${literal(quantum)}
      ) e
      where ${which} and e.n <= ${share} and (t.app_cap is null or e.n <= t.app_cap - t.app_held)
      limit ${limit}`;
}

/** What a claim takes, and from whom. */
export interface ClaimOptions {
  /** Most rows to take. */
  limit: number;
  /** How long the claim holds them (renewed while they run). */
  leaseMs: number;
  token?: string;
  /**
   * Most rows one app gets in a round of the rotation (default 8): the fair
   * share per turn, and the batch in which an app's isolate is reused. When
   * every app with due work had its turn and room is left, apps with more
   * take further rounds, so a lone app still fills the claim.
   */
  quantum?: number;
  /** The rotation starts with the first app after this id (the last app of the previous claim); "" starts at the first. */
  after?: string;
  /**
   * The previous claim's last turn, cut short by its limit (ClaimRound's
   * `resume`): that app, first in this rotation, gets what is left of its
   * quantum, so a cold isolate is paid once for a whole turn.
   */
  resume?: ResumedTurn | null;
  /** Apps not to take this time (the worker holds enough of theirs already). */
  exclude?: readonly string[];
  /**
   * Apps whose isolates the claiming worker holds warm: their turns come
   * first, for at most half the claim, so apps settle on the worker that
   * already paid their cold start while the rotation keeps the other half
   * (and every app with due work keeps its turn on some claim).
   */
  prefer?: readonly string[];
  /**
   * Whether the claim takes the fleet's claim lock (default true), which
   * makes caps exact. Without it claims run side by side, `SKIP LOCKED`
   * keeping rows apart: right when no cap is set anywhere
   * (concurrencyCapsSet), and no claimer can then stall the others.
   */
  serialize?: boolean;
  /** Most events of one app held by all workers at once, unless the app sets its own (`apps.concurrency`); null: no cap. */
  appConcurrency?: number | null;
  /** The same for all apps of one workspace (`workspaces.concurrency` overrides); null: no cap. */
  workspaceConcurrency?: number | null;
}

/** Claims hold this transaction-scoped advisory lock (ASCII "swyd-clm"), so caps count what every earlier claim took. */
export const CLAIM_LOCK = 0x73777964_2d636c6dn;

const DEFAULT_QUANTUM = 8;

/**
 * Claims up to `limit` due rows, fairly across apps, in one statement (one
 * round trip, plus the lock below): `FOR UPDATE SKIP LOCKED` so a row is
 * never taken twice, a lease so that a row whose worker died is claimable
 * again once `lease_until` passes, and the run's context joined in (see
 * ClaimContext).
 *
 * Fairness: the apps that have rows in the outbox are walked in id order as
 * a rotation that starts after `after` and wraps around (a loose index scan:
 * one index probe per app, however deep its backlog), and each app in turn
 * gets at most `quantum` of its oldest due rows. So a flood from one app
 * waits behind nobody else's single event: the next claim reaches every app
 * with due work before it takes a second turn of the flood's. An app's (or
 * workspace's) concurrency cap counts the rows workers hold now, and a claim
 * takes no more than the cap leaves.
 *
 * Claims run one at a time across the fleet (a transaction-scoped advisory
 * lock taken before the claim statement), so the statement's snapshot
 * includes every earlier claim and a cap holds (it counts live leases: a run
 * whose lease lapsed unrenewed no longer counts). A claim of 64 rows took
 * 4-6 ms on the loaded 2-core bench machine (the statement it replaced: 3-5
 * ms), so serialised claims cap a fleet near 10,000 claimed events a second
 * there; one PostgreSQL's completions run out before that.
 *
 * The claim commits without waiting for its WAL flush (`synchronous_commit`
 * off for this transaction alone). Other sessions see it at once as always;
 * only a crash of PostgreSQL itself within the flush delay could forget it,
 * and then the row is simply unclaimed again: it runs again (at least once),
 * and the forgotten claim's completion is fenced off by its token like any
 * lost lease. A completion commits synchronously, which also makes its own
 * claim durable (WAL is flushed in order). On the path from enqueue to start
 * this saves the flush wait (measured: half a claim's time).
 *
 * Rows come back in rotation order, each app's together (oldest first).
 *
 * @example
 * const batch = await claim(db, { limit: 16, leaseMs: 15_000 });
 * const next = await claim(db, { limit: 16, leaseMs: 15_000, after: batch.at(-1)?.appId ?? "" });
 */
export async function claim(db: Db, options: ClaimOptions): Promise<ClaimedEvent[]> {
  return (await claimRound(db, options)).events;
}

/** A turn one claim began and the next continues. */
export interface ResumedTurn {
  appId: string;
  /** Rows the app got in the turn so far. */
  taken: number;
}

/** What claimRound answers. */
export interface ClaimRound {
  events: ClaimedEvent[];
  /** Where the next claim's rotation starts. */
  after: string;
  /** The last turn, when the claim's limit cut it short: the next claim continues it (pass as `resume`, with `after`). */
  resume: ResumedTurn | null;
  /**
   * Rows were claimed on the fast path: the outbox held one app's rows
   * alone, with no cap on it, so the claim took its oldest due rows without
   * the rotation (the same rows, in the same order, with the same `after`).
   */
  fastPath: boolean;
}

/**
 * claim(), answering also where the next claim's rotation starts (`after`):
 * after the last app the rotation served, or where this one started when
 * only preferred apps were served.
 */
export async function claimRound(db: Db, options: ClaimOptions): Promise<ClaimRound> {
  const after = options.after ?? "";
  const quantum = Math.max(1, Math.floor(options.quantum ?? DEFAULT_QUANTUM));
  // A turn already whole (the quantum shrank since) is not resumed: its rest would be nothing.
  const resumed = options.resume && options.resume.taken < quantum ? options.resume : null;
  if (options.limit <= 0) return { events: [], after, resume: resumed, fastPath: false };
  const token = options.token ?? newId("lease");
  const excluded = JSON.stringify(options.exclude ?? []);
  const preferred = JSON.stringify(options.prefer ?? []);
  const preferredRoom = options.prefer?.length ? Math.ceil(options.limit / 2) : 0;
  const appCap = options.appConcurrency ?? null;
  const workspaceCap = options.workspaceConcurrency ?? null;
  const caps = { app: appCap, workspace: workspaceCap };
  const statement = sql`
    with recursive async_commit as (
      -- Evaluated before any row is updated: a row is claimed only by passing through this join.
      select set_config('synchronous_commit', 'off', true)
    ), excluded as (
      select jsonb_array_elements_text(${excluded}::jsonb) as app_id
    ), held_by_app as materialized (
      -- Read only when a cap applies (see turnsOf).
      select app_id, count(*)::int as n from outbox where lease_until is not null and lease_until >= now() group by app_id
    ), held_by_workspace as materialized (
      select a.workspace_id, sum(h.n)::int as n from held_by_app h join apps a on a.id = h.app_id group by a.workspace_id
    ), preferred(app_id, lap) as (
      -- In rotation order too (after the cursor first), so the turns that fit go round them.
      select app_id, case when app_id > ${after} then -2 else -1 end
      from (select distinct jsonb_array_elements_text(${preferred}::jsonb) as app_id) p
      order by 2, 1
    ), outbox_ends as materialized (
      -- Materialized: each probe once (inlined, every reference repeated them).
      select (select min(app_id) from outbox) as app_id, (select max(app_id) from outbox) as last_app
    ), lone(app_id, lap) as (
      -- The fast path: the outbox holds rows of one app alone, not excluded
      -- and without a cap (two index probes). The rotation then has one
      -- turn, and the rounds below would take that app's oldest due rows in
      -- order, each with its turn's lap: lone_rows takes them directly.
      select l.app_id, coalesce((select p.lap from preferred p where p.app_id = l.app_id), case when l.app_id > ${after} then 0 else 1 end)
      from outbox_ends l
      join apps a on a.id = l.app_id
      join workspaces w on w.id = a.workspace_id
      where l.app_id = l.last_app and coalesce(a.concurrency, ${appCap}::int) is null and coalesce(w.concurrency, ${workspaceCap}::int) is null
        and not exists (select 1 from excluded x where x.app_id = l.app_id)
    ), lone_rows as (
      select e.id, l.lap, l.app_id from lone l
      cross join lateral (
        select o.id from outbox o
        where o.app_id = l.app_id and ${claimableIn("o")}
        order by o.run_at, o.id
        limit ${literal(roundUpToPowerOfTwo(options.limit))}
      ) e
      limit ${options.limit}
    ), after_cursor(app_id) as (
      (select min(app_id) from outbox where app_id > ${after})
      union all
      select (select min(o.app_id) from outbox o where o.app_id > r.app_id) from after_cursor r where r.app_id is not null
    ), from_start(app_id) as (
      (select min(app_id) from outbox)
      union all
      select (select min(o.app_id) from outbox o where o.app_id > r.app_id) from from_start r where r.app_id is not null and r.app_id < ${after}
    ), rotation(app_id, lap) as (
      -- Read lazily, in this order: the claim stops walking once it has its rows.
      select app_id, 0 from after_cursor where app_id is not null
      union all
      select app_id, 1 from from_start where app_id is not null and app_id <= ${after}
    ), preferred_turns as (
      ${turnsOf(sql`preferred`, caps)}
    ), turns as (
      ${turnsOf(sql`rotation`, caps)}
    ), preferred_round as (
      -- Turns first for apps warm on this worker, for half the claim at most.
      ${firstRound(sql`preferred_turns`, sql`true`, sql`${preferredRoom}`, quantum, resumed)}
    ), rotation_round as (
      -- Then the rotation, every app with due work in it (an app served above had its turn).
      ${firstRound(sql`turns`, sql`t.app_id not in (select app_id from preferred_round)`, sql`(select ${options.limit} - count(*) from preferred_round)`, quantum, resumed)}
    ), first_round as (
      select * from preferred_round union all select * from rotation_round
    ), first_count as (
      select count(*)::int as taken from first_round
    ), more_rounds as (
      -- Only when every app with due work had its turn and room is left
      -- (the limit is then 0 and this is not read): further rounds for the
      -- apps that filled theirs, one row per app per round.
      select m.app_id, m.lap, m.workspace_id, m.workspace_cap, m.workspace_held, m.id, m.run_at, m.n
      from (
        select f.app_id, f.lap, f.workspace_id, f.workspace_cap, f.workspace_held, e.id, e.run_at, f.n + e.n as n
        from (
          -- Each app's last row of its first turn (its n: the rows that turn
          -- took, a quantum or a resumed turn's rest): the next rounds
          -- continue after it, in index order.
          select distinct on (app_id) app_id, lap, workspace_id, workspace_cap, workspace_held, app_cap, app_held, run_at, id, n
          from first_round order by app_id, run_at desc, id desc
        ) f
        cross join lateral (
          select o.id, o.run_at, row_number() over (order by o.run_at, o.id) as n from outbox o
          where o.app_id = f.app_id and (o.run_at, o.id) > (f.run_at, f.id) and ${claimableIn("o")}
          order by o.run_at, o.id
          limit ${literal(roundUpToPowerOfTwo(options.limit))}
        ) e
        where f.app_cap is null or f.n + e.n <= f.app_cap - f.app_held
      ) m
      order by m.n, m.lap, m.app_id
      limit (select greatest(0, ${options.limit} - taken) from first_count)
    ), picked as (
      select app_id, lap, workspace_id, workspace_cap, workspace_held, id, run_at, n from first_round
      union all
      select app_id, lap, workspace_id, workspace_cap, workspace_held, id, run_at, n from more_rounds
    ), within_workspace as (
      select id, lap, app_id from lone_rows
      union all
      -- A workspace's cap is shared by its apps: the earlier turns keep their rows.
      -- Not run at all on the fast path (a one-time filter above the rounds).
      select p.id, p.lap, p.app_id from (
        select p.*, row_number() over (partition by p.workspace_id order by p.n, p.lap, p.app_id) as in_workspace from picked p
        where not exists (select 1 from lone)
      ) p
      where p.workspace_cap is null or p.workspace_held + p.in_workspace <= p.workspace_cap
    ), due as (
      select o.id from outbox o, async_commit
      where o.id in (select id from within_workspace) and ${claimableIn("o")}
      for update of o skip locked
    ), c as (
      update outbox o
      set attempts = o.attempts + 1,
          lease_token = ${token},
          lease_until = now() + ${options.leaseMs} * interval '1 millisecond',
          first_attempt_at = coalesce(o.first_attempt_at, now())
      from due
      where o.id = due.id
      returning o.*
    )
    select p.lap as turn_lap, exists (select 1 from lone) as lone, c.id, c.app_id, c.script_id, c.trigger_id, c.kind, c.event, c.retry, c.attempts,
           ${epochMs("run_at")} as run_at_ms, c.lease_token, ${epochMs("lease_until")} as lease_until_ms,
           c.depth, c.origin, c.replay_of, c.last_error,
           ${epochMs("first_attempt_at")} as first_attempt_at_ms, ${epochMs("created_at")} as created_at_ms,
           a.name as app_name, a.workspace_id, s.version as script_version, s.crashed_version = s.version as script_quarantined, w.engine_blocked_at is not null as workspace_blocked,
           t.kind as trigger_kind, t.name as trigger_name
    from c
    join within_workspace p on p.id = c.id
    left join apps a on a.id = c.app_id
    left join workspaces w on w.id = a.workspace_id
    left join scripts s on s.id = c.script_id
    left join triggers t on t.id = c.trigger_id
    order by p.lap, p.app_id, c.run_at, c.id`;
  const result = options.serialize === false ? await executePrepared(db, "switchyard_outbox_claim", statement) : await executeSerialized(db, CLAIM_LOCK, statement);
  const rows = resultRows<ClaimedRow>(result);
  const fastPath = rows.length > 0 && rows[0]?.lone === true;
  return { events: rows.map(toClaimedEvent), ...nextTurn(rows, { after, resumed, quantum, full: rows.length >= options.limit && !fastPath }), fastPath };
}

/**
 * Where the next claim's rotation starts: after the last app the rotation
 * served (preferred turns do not move it), or where this one started when
 * only preferred apps were served. When the claim filled its limit in the
 * middle of that app's turn (fewer rows than its quantum left), the next
 * claim starts at that app again and gives it the rest of its quantum: a
 * full turn is the batch that pays an app's cold isolate once, and a short
 * claim limit (a worker's free slots) would otherwise cut every turn to a
 * few rows, each paying it again after the whole rotation went by.
 */
function nextTurn(rows: ClaimedRow[], claim: { after: string; resumed: ResumedTurn | null; quantum: number; full: boolean }): { after: string; resume: ResumedTurn | null } {
  const turns = rows.filter((r) => Number(r.turn_lap) >= 0);
  const last = turns.at(-1);
  if (!last) return { after: claim.after, resume: claim.full ? claim.resumed : null };
  let taken = turns.filter((r) => r.app_id === last.app_id).length;
  // The resumed app's turn goes on (an app before it in the rotation may have had rows first).
  if (claim.resumed?.appId === last.app_id) taken += claim.resumed.taken;
  if (!claim.full || taken >= claim.quantum) return { after: last.app_id, resume: null };
  const before = turns.findLast((r) => r.app_id !== last.app_id);
  return { after: before?.app_id ?? claim.after, resume: { appId: last.app_id, taken } };
}

function toClaimedEvent(r: ClaimedRow): ClaimedEvent {
  return {
    id: r.id,
    appId: r.app_id,
    scriptId: r.script_id,
    triggerId: r.trigger_id,
    kind: r.kind,
    event: r.event,
    retry: r.retry,
    attempts: r.attempts,
    runAt: toDate(r.run_at_ms),
    leaseToken: r.lease_token,
    leaseUntil: toDate(r.lease_until_ms),
    depth: r.depth,
    origin: r.origin,
    replayOf: r.replay_of,
    lastError: r.last_error,
    firstAttemptAt: r.first_attempt_at_ms === null ? null : toDate(r.first_attempt_at_ms),
    createdAt: toDate(r.created_at_ms),
    context: {
      appName: r.app_name,
      scriptVersion: r.script_version,
      quarantined: r.script_quarantined === true,
      workspaceId: r.workspace_id,
      workspaceBlocked: r.workspace_blocked === true,
      trigger: r.trigger_id !== null && r.trigger_kind !== null ? { id: r.trigger_id, kind: r.trigger_kind, name: r.trigger_name ?? "" } : null,
    },
  };
}

/** The (id, lease token) pairs of held claims as one JSON parameter: one statement for any number of rows. */
const heldJson = (claims: Pick<Claim, "id" | "leaseToken">[]) => JSON.stringify(claims.map((c) => ({ id: c.id, token: c.leaseToken })));

/** Extends the leases of rows a worker still holds, in one statement; answers the ids it still holds. */
export async function renewLeases(db: Db, claims: Pick<Claim, "id" | "leaseToken">[], leaseMs: number): Promise<string[]> {
  if (claims.length === 0) return [];
  const result = await executePrepared(db, "switchyard_outbox_renew", sql`
    update outbox o set lease_until = now() + ${leaseMs} * interval '1 millisecond'
    from jsonb_to_recordset(${heldJson(claims)}::jsonb) as h(id text, token text)
    where o.id = h.id and o.lease_token = h.token
    returning o.id`);
  return resultRows<{ id: string }>(result).map((r) => r.id);
}

/** Hands back rows a stopping worker claimed but did not start, in one statement: claimable again at once, the attempt not counted. */
export async function releaseClaims(db: Db, claims: Pick<Claim, "id" | "leaseToken">[]): Promise<void> {
  if (claims.length === 0) return;
  await db.execute(sql`
    update outbox o set lease_token = null, lease_until = null, attempts = o.attempts - 1
    from jsonb_to_recordset(${heldJson(claims)}::jsonb) as h(id text, token text)
    where o.id = h.id and o.lease_token = h.token`);
}
