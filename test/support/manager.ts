import { ensureBootstrapToken, silentLogger, type Database } from "@switchyard/core";
import { createManagerApp } from "@switchyard/manager";
import { Registry } from "prom-client";

export type TestApp = ReturnType<typeof createManagerApp>;

/** The manager over a real database, and the bootstrap admin token (created if the database has none). */
export async function managerFor(database: Database, options: { maxBodyBytes?: number } = {}) {
  const app = createManagerApp({ database, logger: silentLogger, metrics: new Registry(), ...options });
  const bootstrap = await ensureBootstrapToken(database.db);
  return { app, adminToken: bootstrap?.token ?? null };
}

/** A small client over `app.request()` that speaks JSON with a bearer token. */
export function client(app: TestApp, token: string | null) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (token) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
    if (body !== undefined) {
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await app.request(path, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, json: json as Record<string, any>, headers: res.headers };
  };
  return {
    get: (path: string) => call("GET", path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call("POST", path, body, headers),
    put: (path: string, body?: unknown) => call("PUT", path, body),
    patch: (path: string, body?: unknown) => call("PATCH", path, body),
    delete: (path: string) => call("DELETE", path),
    call,
  };
}
