import { summarize, type Summary } from "./stats.ts";

/**
 * One benchmark case. `sample()` runs the operation `batchSize` times and
 * answers nanoseconds per operation; `before()` runs untimed ahead of each
 * sample (e.g. to drop a cache).
 */
export interface Case {
  name: string;
  batchSize: number;
  before?: () => void | Promise<void>;
  sample(): number | Promise<number>;
}

// Results land on a heap object so the engine cannot treat a measured call as dead code.
const sink: { last: unknown } = { last: undefined };

/**
 * A case timing a synchronous `fn` in batches of `batchSize` calls: for calls
 * well under a microsecond, where one hrtime read costs about as much as the call.
 *
 * @example
 * syncCase("bare open", 100, () => JSON.parse(open(key, sealed, aad).toString("utf8")));
 */
export function syncCase(name: string, batchSize: number, fn: () => unknown): Case {
  return {
    name,
    batchSize,
    sample() {
      const start = process.hrtime.bigint();
      for (let i = 0; i < batchSize; i++) sink.last = fn();
      return Number(process.hrtime.bigint() - start) / batchSize;
    },
  };
}

/** A case timing an async `fn`, each call awaited before the next; `batchSize` 1 times every call alone. */
export function asyncCase(
  name: string,
  batchSize: number,
  fn: () => Promise<unknown>,
  before?: () => void | Promise<void>,
): Case {
  return {
    name,
    batchSize,
    ...(before ? { before } : {}),
    async sample() {
      const start = process.hrtime.bigint();
      for (let i = 0; i < batchSize; i++) sink.last = await fn();
      return Number(process.hrtime.bigint() - start) / batchSize;
    },
  };
}

export interface InterleaveOptions {
  /** Rounds run and thrown away first (JIT, connection pool, caches). */
  warmupRounds: number;
  /** Rounds kept; each round takes one sample of every case. */
  rounds: number;
  /** Stops the run between two samples, throwing the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Samples every case once per round, rotating which case goes first, so
 * drift over the run (CPU frequency, GC pressure, a neighbour's load) falls on
 * all cases alike instead of on whichever ran last.
 */
export async function interleave(cases: readonly Case[], options: InterleaveOptions): Promise<Map<string, Summary>> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const total = options.warmupRounds + options.rounds;
  for (let round = 0; round < total; round++) {
    // Awaiting settled promises never leaves the microtask queue, so an
    // in-memory case would starve timers and signal handlers; yield now and
    // then, outside any timed sample.
    if (round % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < cases.length; i++) {
      options.signal?.throwIfAborted();
      const c = cases[(round + i) % cases.length] as Case;
      await c.before?.();
      const ns = await c.sample();
      if (round >= options.warmupRounds) samples.get(c.name)?.push(ns);
    }
  }
  return new Map(cases.map((c) => [c.name, summarize(samples.get(c.name) ?? [], c.batchSize)]));
}
