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
 */
export async function startServer(config: Config, role: Role, print: (line: string) => void): Promise<RunningServer> {
  const loaded = await loadKeyring(config);
  if (!config.databaseUrl && role !== "all") {
    throw new StartupError(`--role ${role} needs DATABASE_URL: the embedded PGlite serves one process, which runs every role`);
  }
  // Loaded only now, after the key check: a refused start stays fast and touches nothing.
  const [{ serve: serveHttp }, { ensureBootstrapToken }, { createManagerApp }, { collectDefaultMetrics, Registry }, { migrateOrExplain, openDatabase }, { createServices }, { queueMetrics }] =
    await Promise.all([
      import("@hono/node-server"),
      import("@switchyard/core"),
      import("@switchyard/manager"),
      import("prom-client"),
      import("../runtime.ts"),
      import("../services.ts"),
      import("../queue-metrics.ts"),
    ]);
  const logger = createLogger(config);
  warnAboutSetup(config, loaded, logger);
  const database = await openDatabase(config, logger, role);
  await migrateOrExplain(database, logger);
  const bootstrap = await ensureBootstrapToken(database.db);

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: "switchyard_" });
  const observer = queueMetrics(metrics, database);
  const services = createServices({ database, keyring: loaded.keyring, logger, settings: config, worker: role !== "api", observer });
  // Every role listens: a worker's script reads must see changes made through any API process.
  await services.start();


  let server: ServerType | null = null;
  let url: string | null = null;
  if (role !== "worker") {
    const app = createManagerApp({
      database,
      logger,
      metrics,
      secrets: services.secrets,
      scripts: services.scripts,
      invoker: services.invoker,
      maxBodyBytes: config.maxBodyBytes, version: "0.1.0" });
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
        if (http) {
          await new Promise<void>((resolve) => {
            http.close(() => resolve());
            // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
            (http as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          });
        }
        await services.stop();
        await database.close();
        logger.info({}, "stopped");
      })();
      return stopping;
    },
  };
}

function warnAboutSetup(config: Config, loaded: LoadedKeyring, logger: Logger): void {
  for (const name of config.unknownVariables) logger.warn({ variable: name }, `unknown variable ${name} is ignored`);
  if (loaded.devKeyFile?.created) {
    logger.warn(
      { path: loaded.devKeyFile.path },
      "DEV MODE: generated a master key into the data folder. Anyone who can read that file can decrypt every secret. Never use dev mode in production; set SWITCHYARD_MASTER_KEY instead.",
    );
  } else if (loaded.devKeyFile) {
    logger.warn({ path: loaded.devKeyFile.path }, "DEV MODE: using the generated master key from the data folder");
  }
}
