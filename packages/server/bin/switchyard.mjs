#!/usr/bin/env node
// The `switchyard` command. The workspace runs its TypeScript directly through
// tsx's loader, so there is no build step between an edit and a run.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2), process.env);
