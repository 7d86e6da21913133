import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../../packages/server/bin/switchyard.mjs", import.meta.url));

/** An environment without any SWITCHYARD_* or DATABASE_URL from the caller's shell. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("SWITCHYARD_") && k !== "DATABASE_URL") env[k] = v;
  }
  return { ...env, SWITCHYARD_LOG_LEVEL: "warn", ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `switchyard <args>` to completion. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return finished(startCli(args, env), timeoutMs);
}

export function startCli(args: string[], env: Record<string, string>): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => (output.stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output.stderr += d.toString()));
  return Object.assign(child, { output });
}

export function finished(child: ReturnType<typeof startCli>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // It may have exited already, before anyone listened.
    if (child.exitCode !== null || child.signalCode !== null) {
      setImmediate(() => resolve({ code: child.exitCode, signal: child.signalCode, ...child.output }));
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`switchyard did not exit within ${timeoutMs} ms\n${child.output.stdout}\n${child.output.stderr}`));
    }, timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, ...child.output }));
    });
  });
}

/**
 * Resolves with the URL a `serve` child prints once it listens. The pipe may
 * deliver a line in pieces, so the URL counts only once the space after it arrived.
 */
export function listeningUrl(child: ReturnType<typeof startCli>, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/\S+)\s/.exec(child.output.stdout);
      if (match?.[1]) {
        clearInterval(poll);
        resolve(match[1]);
      } else if (child.exitCode !== null || Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`server did not start (exit ${child.exitCode})\n${child.output.stdout}\n${child.output.stderr}`));
      }
    }, 20);
  });
}

/**
 * Resolves with the bootstrap admin token a first `serve` prints. It is
 * printed after the URL and the pipe may deliver it later, or in pieces: the
 * token counts once its line has ended.
 */
export function bootstrapToken(children: ReturnType<typeof startCli> | ReturnType<typeof startCli>[], timeoutMs = 30_000): Promise<string> {
  const all = Array.isArray(children) ? children : [children];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const token = all.map((c) => /SWITCHYARD_TOKEN=(sy_\S+)\r?\n/.exec(c.output.stdout)?.[1]).find(Boolean);
      if (token) {
        clearInterval(poll);
        resolve(token);
      } else if (all.every((c) => c.exitCode !== null) || Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`no bootstrap token printed\n${all.map((c) => `${c.output.stdout}\n${c.output.stderr}`).join("\n")}`));
      }
    }, 20);
  });
}

export interface DevServer {
  /** SWITCHYARD_URL and SWITCHYARD_TOKEN (the bootstrap admin token) for CLI calls against it. */
  env: { SWITCHYARD_URL: string; SWITCHYARD_TOKEN: string };
  /** A scratch folder of the test's own (the server keeps its data in `data/` inside it). */
  dir: string;
  /** Stops the server with SIGTERM and removes the folder; resolves to the server's exit code. */
  stop(): Promise<number | null>;
}

/** A real `switchyard serve --dev` on a free port with one app, `appName`, created through the API. */
export async function startDevServerWithApp(prefix: string, appName: string): Promise<DevServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const server = startCli(["serve", "--dev", "--port", "0"], { SWITCHYARD_DATA_DIR: join(dir, "data") });
  const stop = async () => {
    server.kill("SIGTERM");
    const { code } = await finished(server);
    await rm(dir, { recursive: true, force: true });
    return code;
  };
  try {
    const url = await listeningUrl(server);
    const token = await bootstrapToken(server);
    const created = await fetch(`${url}/api/v1/admin/apps`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: appName }),
    });
    if (created.status !== 201) throw new Error(`creating app ${appName} answered ${created.status}: ${await created.text()}`);
    return { env: { SWITCHYARD_URL: url, SWITCHYARD_TOKEN: token }, dir, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
