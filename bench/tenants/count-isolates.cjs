/**
 * Preloaded into the worker process with `node --require` (which, unlike
 * `--import`, also runs in every worker_thread, where the executor makes its
 * isolates): wraps isolated-vm's `Isolate` constructor so each isolate made
 * writes one line to stderr, which the bench counts. The cold-start count
 * then comes from the isolates actually constructed, whether or not the
 * worker's /metrics reports them; when it does, the bench prints both.
 * A line costs one small write against the milliseconds an isolate takes.
 */
"use strict";
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- `--require` loads CommonJS only, and only it reaches the worker threads */
const { createRequire } = require("node:module");
const { writeSync } = require("node:fs");
const { join } = require("node:path");

// The executor resolves isolated-vm from its own package (threads/thread-bundle.ts);
// resolving from the same place loads the same module, so both share one cache entry.
const fromExecutor = createRequire(join(__dirname, "../../packages/executor/package.json"));
const path = fromExecutor.resolve("isolated-vm");
const ivm = fromExecutor(path);
const Original = ivm.Isolate;

/** The line the bench counts (serve.ts). */
const LINE = "switchyard-bench: isolate created\n";

function Isolate(...args) {
  const isolate = new Original(...args);
  writeSync(2, LINE);
  return isolate;
}
Isolate.prototype = Original.prototype;
Object.setPrototypeOf(Isolate, Original);
// isolated-vm's exports are frozen, so the module's cached exports become an
// object inheriting everything from them, with its own Isolate in front;
// every later require or import of the module gets it.
require.cache[path].exports = Object.create(ivm, { Isolate: { value: Isolate, enumerable: true } });
