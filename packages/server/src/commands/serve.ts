import type { ServerType } from "@hono/node-server";
import type { Database, Logger } from "@switchyard/core";
import type { Config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { loadKeyring, type LoadedKeyring } from "../master-keys.ts";
import { StartupError } from "../startup-error.ts";

export type Role = "api" | "worker" | "all";

export interface RunningServer {
  url: string | null;
  database: Database;
  logger: Logger;
  /** Stops accepting work, finishes what is in flight, closes the database. */
  stop(): Promise<void>;
}

/**
 * Starts the service. Order matters: configuration and keys are checked
 * before any database work, so a bad key never touches storage.
 * `requestStop` is asked to stop the server when V8 gives up on an isolate.
 */
export async function startServer(config: Config, role: Role, print: (line: string) => void, requestStop?: () => void): Promise<RunningServer> {
  const loaded = await loadKeyring(config);
  if (!config.databaseUrl && role !== "all") {
    throw new StartupError(`--role ${role} needs DATABASE_URL: the embedded PGlite serves one process, which runs every role`);
  }
  // Loaded only now, after the key check: a refused start stays fast and touches nothing.
  const {
    openDatabase, migrateOrExplain, ensureBootstrapToken,
    Registry, collectDefaultMetrics, queueMetrics,
    createServices, createAuditSealer,
    createInboundReceiver, createRunFeed, createManagerApp, sdkTypes, serveHttp,
    createSmtpListener, countSmtpDeliveries,
  } = await import("./serve-modules.ts");
  const logger = createLogger(config);
  warnAboutSetup(config, loaded, logger);
  const database = await openDatabase(config, logger, role);
  await migrateOrExplain(database, logger);
  const bootstrap = await ensureBootstrapToken(database.db);

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: "switchyard_" });
  const observer = queueMetrics(metrics, database);
  const services = createServices({ database, keyring: loaded.keyring, logger, settings: config, worker: role !== "api", observer, metrics, ...(requestStop ? { requestStop } : {}) });
  // Every role listens: a worker's script reads must see changes made through any API process.
  await services.start();
  // Every role seals: an API-only deployment writes audit rows too. Processes
  // sharing a database take turns (a try-lock), so this costs one query a second.
  const sealer = createAuditSealer({ db: database.db, keyring: loaded.keyring, logger });
  sealer.start();
  if (config.logLevel !== "debug" && config.logLevel !== "info" && config.logLevel !== "trace") {
    // The checkpoint lines are the copy of the chain heads kept outside the database; say so once, loudly.
    logger.warn({ logLevel: config.logLevel }, "audit checkpoint lines are logged at info and SWITCHYARD_LOG_LEVEL hides them: keep 'audit verify --json' output elsewhere instead, or log at info");
  }


  let server: ServerType | null = null;
  let url: string | null = null;
  let smtpListener: { stop(): Promise<void> } | null = null;
  let runFeed: { close(): void } | null = null;
  if (role !== "worker") {
    const inbound = createInboundReceiver({
      database,
      secrets: services.secrets,
      logger,
      maxBytes: config.emailMaxBytes,
      smtpDomain: config.smtpListen ? config.inboundDomain : null,
    });
    // Open run streams end at stop, before the HTTP server waits for its connections.
    const feed = createRunFeed({ db: database.db, logger });
    runFeed = feed;
    const app = createManagerApp({
      database,
      logger,
      metrics,
      secrets: services.secrets,
      scripts: services.scripts,
      invoker: services.invoker,
      runStream: { feed },
      connectivity: services.connectivity,
      webhooks: services.webhooks,
      inbound,
      inboundTally: services.inboundTally,
      emailMaxBytes: config.emailMaxBytes,
      maxBodyBytes: config.maxBodyBytes,
      version: "0.1.0",
      sdkTypes: sdkTypes(),
    });
    if (config.smtpListen) {
      const listener = createSmtpListener({
        host: config.smtpListen.host,
        port: config.smtpListen.port,
        maxBytes: config.emailMaxBytes,
        lookup: (address) => inbound.lookupAddress(address),
        deliver: countSmtpDeliveries(services.inboundTally, inbound.triggers, (message) => inbound.receiveSmtp(message)),
        logger,
      });
      const at = await listener.start().catch((error: NodeJS.ErrnoException) => {
        throw new StartupError(`cannot listen for SMTP on ${config.smtpListen?.host}:${config.smtpListen?.port}: ${error.code ?? error.message}`, 1);
      });
      smtpListener = listener;
      logger.info({ host: at.host, port: at.port, domain: config.inboundDomain }, "inbound SMTP listener started");
      print(`Inbound SMTP on ${at.host}:${at.port} for <trigger id>@${config.inboundDomain}`);
    }
    const listening = await new Promise<{ port: number }>((resolve, reject) => {
      server = serveHttp({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => resolve(info));
      server.once("error", reject);
    }).catch((error: NodeJS.ErrnoException) => {
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`, 1);
    });
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;
    url = `http://${host}:${listening.port}`;
  }

  logger.info({ role, url, database: database.driver }, "switchyard started");
  if (url) print(`Switchyard is listening on ${url} (role ${role}, ${database.driver})`);
  else print(`Switchyard worker started (${database.driver})`);
  if (bootstrap) {
    print("");
    print("A bootstrap admin token was created. It is shown this once and stored only hashed:");
    print(`  SWITCHYARD_TOKEN=${bootstrap.token}`);
    if (url) print(`  Dashboard, signed in: ${url}/#token=${bootstrap.token}`);
    print("");
  }

  let stopping: Promise<void> | null = null;
  return {
    url,
    database,
    logger,
    stop() {
      stopping ??= (async () => {
        logger.info({}, "shutting down");
        const http = server as ServerType | null;
        runFeed?.close();
        if (http) {
          await new Promise<void>((resolve) => {
            http.close(() => resolve());
            // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
            (http as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          });
        }
        await smtpListener?.stop();
        await services.stop();
        // After the work in flight, so its audit rows are sealed before the database closes.
        await sealer.stop();
        await database.close();
        loaded.close();
        logger.info({}, "stopped");
      })();
      return stopping;
    },
  };
}

function warnAboutSetup(config: Config, loaded: LoadedKeyring, logger: Logger): void {
  for (const name of config.unknownVariables) logger.warn({ variable: name }, `unknown variable ${name} is ignored`);
  // Said once, here: every send would otherwise fail without a word at start.
  if (!config.smtpUrl && config.captureEmail) {
    logger.info({}, "DEV MODE: no SWITCHYARD_SMTP_URL; email.send is captured into the send log, not sent");
  } else if (!config.smtpUrl) {
    logger.warn({}, "outbound email is not configured (SWITCHYARD_SMTP_URL): email.send fails with not_configured unless an app sets its own SMTP_URL secret");
  }
  for (const warning of loaded.warnings) logger.warn({}, warning);
  if (loaded.pkcs11) {
    logger.info({ token: loaded.pkcs11.tokenLabel, keys: loaded.pkcs11.keyIds, wrapping: loaded.keyring.activeId }, "master keys held in the PKCS#11 token");
    const remaining = loaded.keyring.ids.filter((id) => loaded.keyring.kindOf(id) === "environment");
    if (remaining.length > 0) {
      logger.warn({ keys: remaining }, "environment master keys are still configured beside the HSM: run `switchyard keys rotate --to pkcs11`, then remove SWITCHYARD_MASTER_KEY(S)");
    }
  }
  if (loaded.devKeyFile?.created) {
    logger.warn(
      { path: loaded.devKeyFile.path },
      "DEV MODE: generated a master key into the data folder. Anyone who can read that file can decrypt every secret. Never use dev mode in production; set SWITCHYARD_MASTER_KEY instead.",
    );
  } else if (loaded.devKeyFile) {
    logger.warn({ path: loaded.devKeyFile.path }, "DEV MODE: using the generated master key from the data folder");
  }
}
