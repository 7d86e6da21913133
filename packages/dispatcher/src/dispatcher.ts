import { claim, fireDueCronTicks, OUTBOX_CHANNEL, releaseClaims, renewLeases, type Claim, type CompletionResult, type Logger } from "@switchyard/core";
import { runClaim, type RunClaimDeps } from "./run-claim.ts";

/** What the dispatcher reports as it works (the server turns these into Prometheus metrics). */
export interface DispatcherObserver {
  claimed(batchSize: number): void;
  completed(result: CompletionResult, status: string | null, seconds: number): void;
}

export interface DispatcherOptions extends RunClaimDeps {
  observer?: DispatcherObserver;
  logger: Logger;
  /** Runs in flight in this process. */
  concurrency?: number;
  /** How long a claim holds a row; renewed while the run lasts. A dead worker's rows return after it. */
  leaseMs?: number;
  /** Fallback poll when no NOTIFY arrives (delayed retries become due without one). */
  pollMs?: number;
  /** How often due cron ticks are looked for. */
  cronMs?: number;
}

/**
 * The claim loop of one worker process: woken by NOTIFY (polling as the
 * fallback), it claims due outbox rows up to its free concurrency, runs each,
 * and renews the leases of what it runs. Stopping finishes the runs in flight.
 *
 * @example
 * const dispatcher = createDispatcher({ database, executor, scripts, logger, concurrency: 8 });
 * await dispatcher.start();
 * // ... on SIGTERM:
 * await dispatcher.stop();
 */
export function createDispatcher(options: DispatcherOptions) {
  const { database, logger } = options;
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 15_000;
  const pollMs = options.pollMs ?? 250;
  const inFlight = new Map<string, { claim: Claim; done: Promise<void> }>();
  let running = false;
  let wake: (() => void) | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let loop: Promise<void> | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let cronTimer: NodeJS.Timeout | null = null;
  let cronBusy = false;

  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, pollMs);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  function start(c: Claim): void {
    const started = performance.now();
    const done = runClaim(options, c)
      .then(({ result, status }) => {
        options.observer?.completed(result, status, (performance.now() - started) / 1000);
        if (result === "lost") logger.warn({ eventId: c.id, attempt: c.attempts }, "lease lost before completion; the attempt was not recorded");
      })
      .catch((error: unknown) => logger.error({ err: error, eventId: c.id }, "run failed to complete; its lease will lapse and it will be retried"))
      .finally(() => {
        inFlight.delete(c.id);
        wake?.();
      });
    inFlight.set(c.id, { claim: c, done });
  }

  async function run(): Promise<void> {
    while (running) {
      const free = concurrency - inFlight.size;
      let claimed: Claim[] = [];
      if (free > 0) {
        try {
          claimed = await claim(database.db, { limit: free, leaseMs });
        } catch (error) {
          logger.error({ err: error }, "claiming from the outbox failed");
        }
      }
      if (!running) {
        // Stopped while claiming: hand these back untouched.
        await releaseClaims(database.db, claimed).catch(() => {});
        break;
      }
      if (claimed.length > 0) options.observer?.claimed(claimed.length);
      for (const c of claimed) start(c);
      // A full batch likely means more is due: go round at once.
      if (claimed.length === 0 || claimed.length < free) await sleep();
    }
  }

  return {
    async start(): Promise<void> {
      if (running) return;
      running = true;
      unlisten = await database.listen(OUTBOX_CHANNEL, () => wake?.());
      renewTimer = setInterval(() => {
        const held = [...inFlight.values()].map((f) => f.claim);
        renewLeases(database.db, held, leaseMs).catch((error: unknown) => logger.warn({ err: error }, "renewing leases failed"));
      }, Math.max(100, Math.floor(leaseMs / 3)));
      cronTimer = setInterval(() => {
        if (cronBusy) return;
        cronBusy = true;
        fireDueCronTicks(database.db)
          .catch((error: unknown) => logger.error({ err: error }, "firing cron ticks failed"))
          .finally(() => (cronBusy = false));
      }, options.cronMs ?? 1000);
      loop = run();
    },

    /** Stops claiming and waits for the runs in flight to complete. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight.values()].map((f) => f.done));
      if (renewTimer) clearInterval(renewTimer);
      if (cronTimer) clearInterval(cronTimer);
      await unlisten?.();
    },

    stats() {
      return { inFlight: inFlight.size, concurrency };
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
