export { createManagerApp, DEFAULT_MAX_BODY_BYTES } from "./app.ts";
export type { ManagerDeps, AppEnv } from "./env.ts";
export { errorBody } from "./http-errors.ts";
