import type { Logger } from "@switchyard/core";
import { pino } from "pino";
import type { Config } from "./config.ts";

/**
 * JSON logs to stdout (pretty in dev). Redaction is a second line of defence:
 * code never passes secret values to the logger in the first place.
 */
export function createLogger(config: Pick<Config, "dev" | "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    base: { service: "switchyard" },
    redact: {
      paths: ["authorization", "*.authorization", "token", "*.token", "value", "*.value", "key", "*.key", "headers.authorization"],
      censor: "[redacted]",
    },
    ...(config.dev
      ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" } } }
      : {}),
  });
}
