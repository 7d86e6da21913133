export * from "./inbound/index.ts";
export * from "./outbound/index.ts";
