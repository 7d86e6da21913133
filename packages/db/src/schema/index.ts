export * from "./tenancy.ts";
export * from "./auth.ts";
export * from "./keys.ts";
export * from "./audit.ts";
export * from "./meta.ts";
export * from "./secrets.ts";
export * from "./scripts.ts";
export * from "./outbox.ts";
