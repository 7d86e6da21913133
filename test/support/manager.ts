import { randomBytes } from "node:crypto";
import { ensureBootstrapToken, silentLogger, type Database } from "@switchyard/core";
import { parseKeyring, type Keyring } from "@switchyard/crypto";
import { createInboundReceiver, createManagerApp, DEFAULT_EMAIL_MAX_BYTES } from "@switchyard/manager";
import { sdkTypes } from "@switchyard/executor";
import { createServices, type ServiceSettings } from "@switchyard/server";
import { Registry } from "prom-client";

export type TestApp = ReturnType<typeof createManagerApp>;

/** A keyring with one fresh random master key. */
export function testKeyring(): Keyring {
  const parsed = parseKeyring({ masterKey: randomBytes(32).toString("base64") });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

export interface ManagerOptions {
  maxBodyBytes?: number;
  keyring?: Keyring;
  settings?: Partial<ServiceSettings>;
  /** Run the outbox dispatcher in this manager (needed to see scripts run); stop it with `services.stop()`. */
  worker?: boolean;
  /** Domain of trigger SMTP addresses, as when the SMTP listener runs. */
  smtpDomain?: string;
  /** The /metrics registry, shared by the services and the app as in `serve`. */
  metrics?: Registry;
}

/** The manager over a real database, and the bootstrap admin token (created if the database has none). */
export async function managerFor(database: Database, options: ManagerOptions = {}) {
  const keyring = options.keyring ?? testKeyring();
  const metrics = options.metrics ?? new Registry();
  const services = createServices({ database, keyring, logger: silentLogger, settings: options.settings ?? {}, worker: options.worker ?? false, metrics });
  await services.start();
  const emailMaxBytes = options.settings?.emailMaxBytes ?? DEFAULT_EMAIL_MAX_BYTES;
  const inbound = createInboundReceiver({ database, secrets: services.secrets, logger: silentLogger, maxBytes: emailMaxBytes, smtpDomain: options.smtpDomain ?? null });
  const app = createManagerApp({
    database,
    logger: silentLogger,
    metrics,
    secrets: services.secrets,
    scripts: services.scripts,
    invoker: services.invoker,
    connectivity: services.connectivity,
    webhooks: services.webhooks,
    inbound,
    inboundTally: services.inboundTally,
    emailMaxBytes,
    // As `serve` wires it, so every documented route answers here too.
    sdkTypes: sdkTypes(),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  const bootstrap = await ensureBootstrapToken(database.db);
  return { app, services, inbound, secrets: services.secrets, keyring, adminToken: bootstrap?.token ?? null };
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
