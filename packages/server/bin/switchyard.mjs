#!/usr/bin/env node
// The `switchyard` command. The workspace runs its TypeScript directly through
// tsx's loader, so there is no build step between an edit and a run.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
const code = await main(process.argv.slice(2), process.env);
// Exit explicitly once the command is done: a library's lingering handle (a
// keep-alive socket, a timer) must not keep a stopped service alive.
process.stdout.write("", () => process.exit(code));
