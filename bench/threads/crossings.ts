/**
 * bench/threads/crossings: what the executor threads' design costs on this
 * machine, measured before building them (issue #17): a message round trip
 * between the main thread and a worker_thread, one at a time and in batches,
 * and, on a worker thread, a synchronous entry into an isolate and an awaited
 * host call served from the thread's own event loop.
 *
 * @example
 * node --no-node-snapshot --import tsx bench/threads/crossings.ts
 */
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import ivm from "isolated-vm";

const N = 20_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function rounds(label: string, per: number, fn: () => Promise<number>): Promise<void> {
  const out: number[] = [];
  for (let r = 0; r < 7; r++) out.push(await fn());
  console.log(`${label.padEnd(64)} ${(median(out) / per).toFixed(2)} µs`);
}

async function main(): Promise<void> {
  const worker = new Worker(new URL("./ts-entry.mjs", import.meta.url), { workerData: { entry: import.meta.url } });
  const waiters: Array<(v: unknown) => void> = [];
  worker.on("message", (m) => waiters.shift()?.(m));
  const ask = (m: unknown) => new Promise((resolve) => { waiters.push(resolve); worker.postMessage(m); });
  await ask({ op: "ping" });
  await rounds("main→worker→main message, one at a time", N, async () => {
    const t = performance.now();
    for (let i = 0; i < N; i++) await ask({ op: "ping" });
    return (performance.now() - t) * 1000;
  });
  await rounds("same, 8 in flight (per message)", N, async () => {
    const t = performance.now();
    for (let i = 0; i < N / 8; i++) await Promise.all(Array.from({ length: 8 }, () => ask({ op: "ping" })));
    return (performance.now() - t) * 1000;
  });
  await rounds("same, 8 per message (one message of 8, per item)", N, async () => {
    const t = performance.now();
    for (let i = 0; i < N / 8; i++) await ask({ op: "ping", items: Array.from({ length: 8 }, (_, k) => k) });
    return (performance.now() - t) * 1000;
  });
  for (const op of ["entry", "callback", "settle"]) {
    const us = (await ask({ op })) as number;
    console.log(`${`worker thread: ${op}`.padEnd(64)} ${us.toFixed(2)} µs`);
  }
  await worker.terminate();
}

function inWorker(): void {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  const jail = context.global;
  let tickets = 0;
  const pending: Array<() => void> = [];
  const hostCall = new ivm.Callback((op: string) => {
    if (op === "now") return "o1";
    const id = ++tickets;
    // An awaited host call: answered on a later turn of this thread's loop.
    pending.push(() => settle.applySync(undefined, [id, "o1"]));
    setImmediate(() => pending.shift()?.());
    return "p" + id;
  });
  jail.setSync("__call", hostCall);
  const setup = isolate.compileScriptSync(`
    const waits = new Map();
    globalThis.__settle = (id, reply) => { const w = waits.get(id); waits.delete(id); w(reply); };
    const call = (op) => { const r = __call(op); if (r[0] !== "p") return Promise.resolve(r); return new Promise((res) => waits.set(Number(r.slice(1)), res)); };
    globalThis.__entry = (n) => n + 1;
    globalThis.__loopSync = (n) => { for (let i = 0; i < n; i++) __call("now"); return n; };
    globalThis.__loopAwait = (n, done) => { (async () => { for (let i = 0; i < n; i++) await call("later"); done(); })(); };
  `);
  setup.runSync(context);
  const entry = jail.getSync("__entry", { reference: true }) as ivm.Reference<(n: number) => number>;
  const loopSync = jail.getSync("__loopSync", { reference: true }) as ivm.Reference<(n: number) => number>;
  const loopAwait = jail.getSync("__loopAwait", { reference: true }) as ivm.Reference<unknown>;
  const settle = jail.getSync("__settle", { reference: true }) as ivm.Reference<unknown>;
  parentPort?.on("message", (m: { op: string }) => {
    if (m.op === "ping") return parentPort?.postMessage("pong");
    const M = 20_000;
    if (m.op === "entry") {
      const t = performance.now();
      for (let i = 0; i < M; i++) entry.applySync(undefined, [i], { timeout: 1000 });
      return parentPort?.postMessage(((performance.now() - t) * 1000) / M);
    }
    if (m.op === "callback") {
      const t = performance.now();
      loopSync.applySync(undefined, [M], { timeout: 10_000 });
      return parentPort?.postMessage(((performance.now() - t) * 1000) / M);
    }
    const t = performance.now();
    const done = new ivm.Callback(() => parentPort?.postMessage(((performance.now() - t) * 1000) / M));
    loopAwait.applySync(undefined, [M, done], { timeout: 10_000 });
  });
}

if (isMainThread) await main();
else inWorker();
