export { createManagerApp, DEFAULT_MAX_BODY_BYTES, DEFAULT_EMAIL_MAX_BYTES } from "./app.ts";
export { createInboundReceiver } from "./email/inbound-receiver.ts";
export type { InboundReceiver, InboundReceiverOptions, InboundRequest, InboundResult } from "./email/inbound-receiver.ts";
export type { ManagerDeps, AppEnv } from "./env.ts";
export { errorBody } from "./http-errors.ts";
export type { RunStreamOptions } from "./routes/runs-stream.ts";
export { countSmtpDeliveries } from "./inbound-counts.ts";
