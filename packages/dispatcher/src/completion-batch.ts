import { completeMany, unstorableRun, type Completion, type CompletionResult, type Db, type Logger } from "@switchyard/core";

export interface CompletionBatchOptions {
  db: Db;
  logger: Logger;
  /** Completions written by one statement at most. */
  maxBatch: number;
  /** How long a lone completion waits for company before it is written. */
  delayMs: number;
  /** Crashed script versions a workspace may cause within 24 h before it is blocked; 0: never (core quarantine.ts). */
  engineCrashLimit?: number;
}

interface Pending {
  completion: Completion;
  resolve(result: CompletionResult): void;
  reject(error: unknown): void;
}

/**
 * Gathers finished attempts and records them together (graphile-worker's
 * batched completion, with our fencing): one write in flight at a time;
 * what finishes meanwhile goes in the next write, at once, so batches grow
 * with the load without a timer on the busy path. A lone completion waits
 * `delayMs` for company. Each completion's promise settles when its write
 * has committed (or failed).
 *
 * A write that fails is tried again one completion at a time, so one
 * completion the database refuses cannot take its batch-mates down with it.
 * One the database refuses for its data (SQLSTATE class 22 or 54: a value it
 * cannot hold) is written once more bare, as an error without its logs and
 * result: it leaves a run row and a last error instead of lapsing its lease
 * and running again unrecorded until it is dead-lettered with no error at all.
 */
export function createCompletionBatch(options: CompletionBatchOptions) {
  const { db, logger } = options;
  const completeOptions = { engineCrashLimit: options.engineCrashLimit };
  let pending: Pending[] = [];
  let writing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function write(batch: Pending[]): Promise<void> {
    let results: CompletionResult[];
    try {
      results = await completeMany(db, batch.map((p) => p.completion), completeOptions);
    } catch (error) {
      if (batch.length === 1) {
        await writeAlone(batch[0] as Pending, error);
        return;
      }
      logger.warn({ err: error, size: batch.length }, "a batched completion failed; writing its completions one at a time");
      for (const p of batch) {
        await completeMany(db, [p.completion], completeOptions).then(([result]) => p.resolve(result as CompletionResult), (alone: unknown) => writeAlone(p, alone));
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i] as CompletionResult));
  }

  /** A completion whose own write failed: recorded bare when its data was refused, else left to its lease. */
  async function writeAlone(p: Pending, error: unknown): Promise<void> {
    const sqlState = refusedDataState(error);
    if (sqlState === null) return p.reject(error);
    logger.error({ err: error, eventId: p.completion.claim.id, sqlState }, "the database refused a run record; recording the attempt without its output");
    await completeMany(db, [unstorableRun(p.completion, "the run's record", sqlState)], completeOptions).then(([result]) => p.resolve(result as CompletionResult), p.reject);
  }

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (writing || pending.length === 0) return;
    const batch = pending.slice(0, options.maxBatch);
    pending = pending.slice(batch.length);
    writing = write(batch).finally(() => {
      writing = null;
      // Whatever finished during this write has waited long enough.
      if (pending.length > 0) flush();
    });
  }

  return {
    /** Queues a completion; resolves with its result once written. */
    add(completion: Completion): Promise<CompletionResult> {
      return new Promise<CompletionResult>((resolve, reject) => {
        pending.push({ completion, resolve, reject });
        if (writing) return;
        if (pending.length >= options.maxBatch) flush();
        else timer ??= setTimeout(flush, options.delayMs);
      });
    },

    /** Writes everything queued now and waits until it is written. */
    async drain(): Promise<void> {
      flush();
      while (writing) {
        await writing;
        flush();
      }
    },
  };
}

/** The SQLSTATE of a refusal of the data itself (class 22 data exception, 54 program limit), through drizzle's wrapping. */
function refusedDataState(error: unknown): string | null {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^(22|54)[0-9A-Z]{3}$/.test(code)) return code;
  }
  return null;
}

export type CompletionBatch = ReturnType<typeof createCompletionBatch>;
