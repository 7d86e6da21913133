#!/usr/bin/env node
// The `switchyard` command. The workspace runs its TypeScript directly through
// tsx's loader, so there is no build step between an edit and a run.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

if (!process.execArgv.includes("--no-node-snapshot")) {
  // isolated-vm on Node 20 needs V8's startup snapshot off; the flag only works
  // on the command line, so start again with it and pass signals through.
  const child = spawn(process.execPath, ["--no-node-snapshot", ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  // A child ended by a signal exits as a shell reports it: 128 + its number.
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 15) : 1)));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli.ts");
  const code = await main(process.argv.slice(2), process.env);
  // Exit explicitly once the command is done: a library's lingering handle (a
  // keep-alive socket, a timer) must not keep a stopped service alive.
  process.stdout.write("", () => process.exit(code));
}
