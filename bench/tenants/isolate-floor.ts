/**
 * The floor under an app's first runs: what bare isolated-vm costs for one
 * app, with nothing of ours around it. Per app: a 64 MB isolate (the
 * default memory limit), a context, a small script of its own compiled and
 * run, 20 synchronous calls with JSON in and out (an app's share of the
 * drain: 20,000 events over 1,000 apps), and the disposal. Measured in this
 * process, on its main thread, after the drains (the server is stopped by
 * then), as CPU time: the one-isolate-per-app design (DESIGN.md) cannot
 * spend less on an app it has not seen.
 */
import ivm from "isolated-vm";

export interface IsolateFloor {
  apps: number;
  callsPerApp: number;
  /** CPU time of this process per app, ms. */
  cpuMsPerApp: number;
}

const EVENT = JSON.stringify({ event: { kind: "manual", payload: {} }, ctx: { run: { attempt: 1 } } });

function oneApp(n: number, calls: number): void {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    const context = isolate.createContextSync();
    const script = isolate.compileScriptSync(`globalThis.handler = (input) => JSON.stringify({ app: ${n}, kind: JSON.parse(input).event.kind });`);
    script.runSync(context);
    const handler = context.global.getSync("handler", { reference: true }) as ivm.Reference<(input: string) => string>;
    for (let i = 0; i < calls; i++) {
      const out = handler.applySync(undefined, [EVENT], { result: { copy: true } }) as string;
      if (!out.includes("manual")) throw new Error(`bench: the floor's handler answered ${out}`);
    }
    handler.release();
    script.release();
    context.release();
  } finally {
    isolate.dispose();
  }
}

/** Measures the floor over `apps` apps of `callsPerApp` calls each, after a warm-up of 50. */
export function measureIsolateFloor(apps: number, callsPerApp: number): IsolateFloor {
  for (let i = 0; i < 50; i++) oneApp(-1 - i, callsPerApp);
  const before = process.cpuUsage();
  for (let i = 0; i < apps; i++) oneApp(i, callsPerApp);
  const used = process.cpuUsage(before);
  return { apps, callsPerApp, cpuMsPerApp: (used.user + used.system) / 1000 / apps };
}
