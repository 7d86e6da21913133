import type { ConnectivityService, Database, InboundTally, Invoker, Logger, Principal, ScriptsService, SecretsService } from "@switchyard/core";
import type { WebhooksService } from "@switchyard/core";
import type { Registry } from "prom-client";
import type { InboundReceiver } from "./email/inbound-receiver.ts";
import type { RunStreamOptions } from "./routes/runs-stream.ts";

/** What the manager needs from the composition root. */
export interface ManagerDeps {
  database: Database;
  logger: Logger;
  metrics: Registry;
  secrets: SecretsService;
  scripts: ScriptsService;
  invoker: Invoker;
  /** The connectivity read side, with the operator's status window; one with the default rules when absent. */
  connectivity?: ConnectivityService;
  /** Operator webhooks with the operator's egress policy; one with the default policy when absent. */
  webhooks?: WebhooksService;
  /** Largest admin request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Largest inbound email accepted, in bytes (SWITCHYARD_EMAIL_MAX_BYTES). */
  emailMaxBytes?: number;
  /** Bytes of public-endpoint bodies (hooks, inbound email) held at once; past it, 503 with Retry-After. Default max(64 MiB, 2 × emailMaxBytes). */
  inboundBudgetBytes?: number;
  /** How long a public request (hook, inbound email) may take to send its whole body; past it, 408. Default 10 s. */
  bodyReadTimeoutMs?: number;
  /** The inbound email receiver shared with the SMTP listener; made here when absent. */
  inbound?: InboundReceiver;
  /** Counts inbound email and http-trigger answers for the stats API (the composition root starts and stops it); nothing is counted when absent. */
  inboundTally?: Pick<InboundTally, "record">;
  /** The script declarations served at `/api/v1/sdk.d.ts` (`@switchyard/executor`'s `sdkTypes()`); 503 when absent. */
  sdkTypes?: string;
  /** The live tail of runs: the process's feed (closed by the composition root at shutdown) and the heartbeat interval. */
  runStream?: RunStreamOptions;
  /** The built dashboard served at `/`; the repository's `dashboard/dist` when absent. */
  dashboardDir?: string;
  /** Build/version string shown by /healthz. */
  version?: string;
}

export type AppEnv = {
  Variables: {
    principal: Principal;
    requestId: string;
  };
};
