#!/usr/bin/env node
// Runs pnpm at the version package.json pins, installing the workspace's
// dependencies first when they are missing or older than the lockfile. This is
// what lets `npm run dev` and `npm test` work on a machine with only Node and npm.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];
const env = { ...process.env };
// Native addons build against the local Node headers; Debian's nodejs ships them in /usr/include/node.
if (!env.npm_config_nodedir && existsSync("/usr/include/node/node.h")) env.npm_config_nodedir = "/usr";

const onPath = spawnSync("pnpm", ["--version"], { encoding: "utf8", env });
const pnpm = onPath.status === 0 && onPath.stdout.trim() === pinned ? ["pnpm"] : ["npx", "--yes", `pnpm@${pinned}`];

function run(args) {
  const result = spawnSync(pnpm[0], [...pnpm.slice(1), ...args], { cwd: root, stdio: "inherit", env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const marker = join(root, "node_modules", ".modules.yaml");
const lock = join(root, "pnpm-lock.yaml");
const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs;
if (stale || env.CI === "true") {
  const status = run(["install", "--frozen-lockfile"]);
  if (status !== 0) process.exit(status);
}
process.exit(run(process.argv.slice(2)));
