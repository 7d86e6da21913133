/**
 * Starting and stopping a `switchyard serve` child process, for the benches
 * that measure a real server from outside (bench:busy, bench:tenants).
 */
import type { ChildProcess } from "node:child_process";

const READY_TIMEOUT_MS = 60_000;

/**
 * Resolves once the process printed its URL and, with `withToken`, the
 * bootstrap token's whole line (a fresh database prints one); rejects with
 * its last output when it exits first or takes over a minute.
 */
export function waitForStart(child: ChildProcess, output: () => string, withToken: boolean): Promise<{ url: string; token: string | null }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const text = output();
      const url = /listening on (http:\/\/\S+)\s/.exec(text)?.[1];
      const token = /SWITCHYARD_TOKEN=(sy_\S+)\r?\n/.exec(text)?.[1] ?? null;
      if (url && (token || !withToken)) {
        clearInterval(poll);
        resolve({ url, token });
      } else if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > READY_TIMEOUT_MS) {
        clearInterval(poll);
        reject(new Error(`bench: switchyard serve did not start (exit ${child.exitCode ?? child.signalCode}):\n${text.slice(-2000)}`));
      }
    }, 20);
  });
}

/** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
export function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    child.kill("SIGTERM");
  });
}

/** Calls a serve child's admin API with `token`; throws unless it answers `expect`. */
export function adminApi(url: string, token: string | null) {
  return async <T>(method: string, path: string, body: unknown, expect: number): Promise<T> => {
    if (token === null) throw new Error("bench: this serve process was started without waiting for its token");
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`bench: ${method} ${path} answered ${res.status}, not ${expect}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  };
}
