import type { Database, Invoker, Logger, Principal, ScriptsService, SecretsService } from "@switchyard/core";
import type { Registry } from "prom-client";

/** What the manager needs from the composition root. */
export interface ManagerDeps {
  database: Database;
  logger: Logger;
  metrics: Registry;
  secrets: SecretsService;
  scripts: ScriptsService;
  invoker: Invoker;
  /** Largest admin request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Build/version string shown by /healthz. */
  version?: string;
}

export type AppEnv = {
  Variables: {
    principal: Principal;
    requestId: string;
  };
};
