import { claimRound, concurrencyCapsSet, fireDueCronTicks, OUTBOX_CHANNEL, pruneInboundSeen, releaseClaims, renewLeases, type ClaimedEvent, type CompletionResult, type Logger } from "@switchyard/core";
import { AppQueues } from "./app-queues.ts";
import { createCompletionBatch } from "./completion-batch.ts";
import { runEvent, type RunEventDeps } from "./run-event.ts";
import { createScriptCache } from "./script-cache.ts";
import { RotationCursor, TurnQuantum } from "./claim-turns.ts";

/** What the dispatcher reports as it works (the server turns these into Prometheus metrics). */
export interface DispatcherObserver {
  claimed(batchSize: number): void;
  /** An attempt's completion was written (or found its lease lost); `seconds` is the run's own duration. */
  completed(result: CompletionResult, status: string | null, seconds: number): void;
}

export interface DispatcherOptions extends RunEventDeps {
  observer?: DispatcherObserver;
  logger: Logger;
  /** Runs in flight in this process. */
  concurrency?: number;
  /**
   * Most claimed events kept waiting for a run slot (default 16 × concurrency).
   * The local queue starts at `concurrency` and doubles only while runs sit
   * idle waiting for a claim that then comes back full (a backlog); a claim
   * that comes back short halves it again, so an idle or lightly loaded
   * worker holds little more than it runs. Queued events hold a lease like
   * runs do: a crash returns them when it lapses (their attempt counted), a
   * stop hands them back at once (not counted). Measured on bench/dispatcher
   * (2 cores): claims of ~35 rows ran at 0.8× the throughput of ~65.
   */
  prefetch?: number;
  /** How long a claim holds a row; renewed while the run lasts. A dead worker's rows return after it. */
  leaseMs?: number;
  /** Fallback poll when no NOTIFY arrives (delayed retries become due without one). */
  pollMs?: number;
  /** How often due cron ticks are looked for. */
  cronMs?: number;
  /** How often housekeeping runs (forgetting inbound email ids older than 30 days); hourly by default. */
  housekeepingMs?: number;
  /** Most events of one app a claim takes per turn of its rotation over apps (queue.ts); default: 8, 16 or 32, by how long runs last (claim-turns.ts). */
  quantum?: number;
  /** Most events of one app held by all workers at once (SWITCHYARD_APP_CONCURRENCY; an app's own setting wins); null: no cap. */
  appConcurrency?: number | null;
  /** The same for all apps of one workspace (SWITCHYARD_WORKSPACE_CONCURRENCY); null: no cap. */
  workspaceConcurrency?: number | null;
  /** Crashed script versions a workspace may cause within 24 h before it is blocked (core quarantine.ts); 0: never. Default 3. */
  engineCrashLimit?: number;
  /** How many recently run apps a claim prefers (their isolates are likely warm here); 0 turns affinity off. Default 64. */
  affinity?: number;
  /** Completions written together at most. */
  completionBatch?: number;
  /** How long a lone completion waits for others before it is written. */
  completionDelayMs?: number;
}

/**
 * The claim loop of one worker process. Woken by NOTIFY (polling as the
 * fallback), it claims due outbox rows in one statement for its free run
 * slots plus a local queue, starts each run without a further query, and
 * hands each finished attempt to a completion batch that records it in a
 * fenced write. The leases of everything it holds (queued, running, being
 * recorded) are renewed in one statement. Stopping hands back what has not
 * started and finishes and records what has.
 *
 * Tenants share it fairly: claims rotate over the apps with due work (see
 * claim()), queued events start app by app in turn (AppQueues), and the last
 * free run slot is kept for an app with nothing running, so a tenant whose
 * runs are long never holds every slot. When the local queue is full of
 * events that cannot start, a NOTIFY still claims for that last slot, from
 * apps this worker holds nothing of: a newcomer's event starts at once.
 *
 * @example
 * const dispatcher = createDispatcher({ database, executor, scripts, logger, concurrency: 8 });
 * await dispatcher.start();
 * // ... on SIGTERM:
 * await dispatcher.stop();
 */
/** How often a worker looks whether an app or workspace has a cap of its own (a new cap is exact from then on). */
const CAPS_CHECK_MS = 5_000;

/** Least time between two claims for the slot kept for newcomers. */
const NEWCOMER_GAP_MS = 20;

export function createDispatcher(options: DispatcherOptions) {
  const { database, logger } = options;
  const concurrency = options.concurrency ?? 8;
  const maxQueue = Math.max(0, options.prefetch ?? concurrency * 16);
  const minQueue = Math.min(maxQueue, concurrency);
  const leaseMs = options.leaseMs ?? 15_000;
  const pollMs = options.pollMs ?? 250;
  const maxBatch = options.completionBatch ?? 200;
  const affinity = Math.max(0, options.affinity ?? 64);
  const cache = createScriptCache({ db: database.db, scripts: options.scripts });
  const completions = createCompletionBatch({ db: database.db, logger, maxBatch, delayMs: options.completionDelayMs ?? 2, engineCrashLimit: options.engineCrashLimit });

  /** Claimed, waiting for a run slot. */
  const queue = new AppQueues();
  /** Each claim's turn length per app, from how long runs last here (unless set). */
  const turn = new TurnQuantum(concurrency);
  /** When each run in flight started (a slot's worth of entries at most). */
  const runningSince = new Map<ClaimedEvent, number>();
  /** The age of the oldest run in flight, ms; 0 with none. */
  const longestRunningMs = () => {
    let oldest = Infinity;
    for (const since of runningSince.values()) oldest = Math.min(oldest, since);
    return oldest === Infinity ? 0 : performance.now() - oldest;
  };
  /** Runs in flight per app. */
  const runningByApp = new Map<string, number>();
  /** Where the next claim's rotation over apps starts, and the turn it continues. */
  const rotation = new RotationCursor();
  let lastNewcomerClaim = -Infinity;
  /** Whether an app or workspace has a cap of its own (looked up every CAPS_CHECK_MS); with an operator's cap, always. */
  let capsSet = false;
  let capsCheckedAt = -Infinity;
  const operatorCaps = (options.appConcurrency ?? null) !== null || (options.workspaceConcurrency ?? null) !== null;
  /**
   * The apps this worker ran last, most recent last: their isolates are
   * likely warm here, so claims prefer them (for half a claim at most), and
   * with several workers each app settles where it already ran.
   */
  const recentApps = new Set<string>();
  /** Everything this worker holds a lease on (queued, running, being recorded), with what settles when it is let go. */
  const held = new Map<ClaimedEvent, Promise<void>>();
  let runningCount = 0;
  let recordingCount = 0;
  /** The local queue's current target, between minQueue and maxQueue. */
  let window = minQueue;
  let running = false;
  /** A NOTIFY came since the last claim began: something new may be due. */
  let notified = false;
  /**
   * Of those, one for an app this worker holds nothing of (queued or
   * running), or one that names no app: only that is worth a claim for the
   * slot kept for newcomers. A busy app's own NOTIFYs would each make one
   * that finds nothing (its rows are excluded), a query apiece: on the
   * embedded database, where every query waits its turn, ~10 ms each.
   */
  let newcomerNotified = false;
  /** Claim statements run so far, including those that found nothing. */
  let claims = 0;
  /** The last claim filled all it asked for: more is probably due. */
  let moreDue = false;
  let nextPollAt = 0;
  let signal: (() => void) | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let loop: Promise<void> | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let cronTimer: NodeJS.Timeout | null = null;
  let housekeepingTimer: NodeJS.Timeout | null = null;
  let cronBusy = false;

  const poke = () => signal?.();
  /** Rows to claim: free run slots plus the local queue's free places. */
  const room = () => concurrency + window - queue.size - runningCount;
  /** Something may be due: a NOTIFY came, the last claim was full, or the fallback poll is due. */
  const claimDue = () => notified || moreDue || performance.now() >= nextPollAt;
  /** Whether a claim now is worth its round trip: the queue is dry, or half the window is free. */
  const worthClaiming = (free: number) => free > 0 && (queue.size === 0 || free >= Math.max(1, Math.ceil(window / 2)));
  /** A slot is free for `appId`: the last free one only for an app with nothing running. */
  const mayStart = (appId: string) => {
    const free = concurrency - runningCount;
    return free > 1 || (free === 1 && !runningByApp.has(appId));
  };
  /** A free slot that no queued event may take: kept for an app this worker holds nothing of. */
  const newcomerSlot = () => runningCount < concurrency && ![...queue.apps()].some(mayStart);

  /** Waits for a NOTIFY, a freed slot, or the next poll, whichever comes first. */
  const nextSignal = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        signal = null;
        resolve();
      }
      signal = done;
    });

  function startRuns(): void {
    // Finished runs whose completion is not yet written are capped too: a
    // stalled database stops new runs rather than piling up unwritten ones.
    while (recordingCount < maxBatch * 2) {
      const next = queue.takeNext(mayStart);
      if (!next) return;
      start(next);
    }
  }

  function start(c: ClaimedEvent): void {
    const started = performance.now();
    runningSince.set(c, started);
    runningCount++;
    runningByApp.set(c.appId, (runningByApp.get(c.appId) ?? 0) + 1);
    recentApps.delete(c.appId);
    recentApps.add(c.appId);
    if (recentApps.size > affinity) recentApps.delete(recentApps.values().next().value as string);
    let ran = false;
    const left = () => {
      runningSince.delete(c);
      runningCount--;
      const still = (runningByApp.get(c.appId) ?? 1) - 1;
      if (still > 0) runningByApp.set(c.appId, still);
      else runningByApp.delete(c.appId);
    };
    const done = runEvent(options, cache, c)
      .then((completion) => {
        // The run's own duration: the time its completion waits for a batch is not part of it.
        const seconds = (performance.now() - started) / 1000;
        turn.observe(seconds * 1000);
        ran = true;
        left();
        recordingCount++;
        // The slot is free now; the completion is written with others.
        startRuns();
        if (claimDue() && worthClaiming(room())) poke();
        return completions.add(completion).then((result) => {
          options.observer?.completed(result, completion.record?.status ?? null, seconds);
          if (result === "lost") logger.warn({ eventId: c.id, attempt: c.attempts }, "lease lost before completion; the attempt was not recorded");
        });
      })
      .catch((error: unknown) => {
        logger.error({ err: error, eventId: c.id }, "run failed to complete; its lease will lapse and it will be retried");
      })
      .finally(() => {
        if (ran) recordingCount--;
        else left();
        held.delete(c);
        startRuns();
      });
    held.set(c, done);
  }

  /** One claim for `limit` rows, continuing the rotation over apps; failures are logged and claim nothing. */
  async function claimSome(limit: number, exclude: string[] = []): Promise<ClaimedEvent[]> {
    // Only a claim for the newcomers' slot excludes apps (those held here).
    const newcomer = exclude.length > 0;
    notified = false;
    newcomerNotified = false;
    claims++;
    nextPollAt = performance.now() + pollMs;
    try {
      if (!operatorCaps && performance.now() - capsCheckedAt >= CAPS_CHECK_MS) {
        capsCheckedAt = performance.now();
        capsSet = await concurrencyCapsSet(database.db);
      }
      const prefer = [...recentApps].filter((appId) => !exclude.includes(appId));
      const round = await claimRound(database.db, {
        limit,
        leaseMs,
        ...rotation.next(newcomer),
        exclude,
        prefer,
        quantum: options.quantum ?? turn.value(longestRunningMs()),
        appConcurrency: options.appConcurrency ?? null,
        workspaceConcurrency: options.workspaceConcurrency ?? null,
        // The claim lock only while a cap is set: it makes caps exact, and costs a fleet-wide queue.
        serialize: operatorCaps || capsSet,
      });
      rotation.moved(round, newcomer);
      return round.events;
    } catch (error) {
      logger.error({ err: error }, "claiming from the outbox failed");
      return [];
    }
  }

  async function run(): Promise<void> {
    while (running) {
      const free = room();
      const due = claimDue();
      // Only on news (a NOTIFY or the poll), not on "the last claim was
      // full": that backlog is the queued apps', which this claim excludes.
      // At most one every NEWCOMER_GAP_MS: a tenant enqueueing fast sends a
      // NOTIFY per event, and each claim holds the fleet's claim lock.
      const newcomerWait = lastNewcomerClaim + NEWCOMER_GAP_MS - performance.now();
      const forNewcomer = (newcomerNotified || performance.now() >= nextPollAt) && !worthClaiming(free) && newcomerSlot() && newcomerWait <= 0;
      if ((due && worthClaiming(free)) || forNewcomer) {
        let claimed: ClaimedEvent[];
        if (forNewcomer) {
          lastNewcomerClaim = performance.now();
          claimed = await claimSome(concurrency - runningCount, [...new Set([...queue.apps(), ...runningByApp.keys()])]);
        } else {
          claimed = await claimSome(free);
          moreDue = claimed.length === free;
          // Runs went idle waiting for this claim while the outbox had more:
          // the queue was too short for the claim's round trip, so it grows.
          // A short claim means the outbox ran dry: it shrinks back.
          const starved = queue.size === 0 && runningCount < concurrency;
          if (moreDue && starved) window = Math.min(maxQueue, Math.max(1, window * 2));
          else if (!moreDue) window = Math.max(minQueue, Math.floor(window / 2));
        }
        if (!running) {
          // Stopped while claiming: hand these back untouched.
          await releaseClaims(database.db, claimed).catch((error: unknown) => logger.warn({ err: error }, "handing back claims failed; their leases will lapse"));
          break;
        }
        if (claimed.length > 0) options.observer?.claimed(claimed.length);
        for (const c of claimed) {
          queue.push(c);
          held.set(c, Promise.resolve());
        }
        startRuns();
        continue;
      }
      // Due but without room: a run's end wakes the loop (pollMs is only the
      // fallback), or the end of the gap before a newcomer claim.
      const newcomerPending = newcomerNotified && newcomerSlot();
      const wait = due ? pollMs : nextPollAt - performance.now();
      await nextSignal(newcomerPending ? Math.min(wait, Math.max(1, newcomerWait)) : wait);
    }
    // Claimed but never started: back to the outbox at once, the attempt not counted.
    const unstarted = queue.takeAll();
    for (const c of unstarted) held.delete(c);
    await releaseClaims(database.db, unstarted).catch((error: unknown) => logger.warn({ err: error }, "handing back unstarted claims failed; their leases will lapse"));
  }

  return {
    async start(): Promise<void> {
      if (running) return;
      running = true;
      // An enqueue's NOTIFY names its app (core's enqueue); others name none.
      unlisten = await database.listen(OUTBOX_CHANNEL, (appId) => {
        notified = true;
        if (appId === "" || (!queue.has(appId) && !runningByApp.has(appId))) newcomerNotified = true;
        poke();
      });
      renewTimer = setInterval(() => {
        renewLeases(database.db, [...held.keys()], leaseMs).catch((error: unknown) => logger.warn({ err: error }, "renewing leases failed"));
      }, Math.max(100, Math.floor(leaseMs / 3)));
      cronTimer = setInterval(() => {
        if (cronBusy) return;
        cronBusy = true;
        fireDueCronTicks(database.db)
          .catch((error: unknown) => logger.error({ err: error }, "firing cron ticks failed"))
          .finally(() => (cronBusy = false));
      }, options.cronMs ?? 1000);
      // Idempotent, so any number of workers may run it.
      housekeepingTimer = setInterval(() => {
        pruneInboundSeen(database.db)
          .then((removed) => removed > 0 && logger.info({ removed }, "forgot old inbound email ids"))
          .catch((error: unknown) => logger.error({ err: error }, "housekeeping failed"));
      }, options.housekeepingMs ?? 3_600_000);
      housekeepingTimer.unref();
      loop = run();
    },

    /** Stops claiming, hands back claimed events not yet started, and waits for the runs in flight to complete and be recorded. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      poke();
      await loop;
      // Runs end into the completion batch; each settles once its completion is written.
      await Promise.allSettled(held.values());
      await completions.drain();
      if (renewTimer) clearInterval(renewTimer);
      if (cronTimer) clearInterval(cronTimer);
      if (housekeepingTimer) clearInterval(housekeepingTimer);
      await unlisten?.();
    },

    stats() {
      return { inFlight: held.size, running: runningCount, queued: queue.size, recording: recordingCount, concurrency, claims };
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
