/**
 * The declarations of everything a script sees (`types/switchyard.d.ts`):
 * the SDK, events, `ctx`, the error classes and the web runtime. The file
 * is the source of truth; the manager serves it at `GET /api/v1/sdk.d.ts`
 * and the dashboard's editor type-checks against it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where the declarations live (also exported as `@switchyard/executor/types/switchyard.d.ts`). */
export const SDK_TYPES_PATH = fileURLToPath(new URL("../types/switchyard.d.ts", import.meta.url));

let text: string | undefined;

/**
 * The declarations as text, read once per process.
 *
 * @example
 * app.get("/api/v1/sdk.d.ts", (c) => c.body(sdkTypes(), 200, { "content-type": "application/typescript; charset=utf-8" }));
 */
export function sdkTypes(): string {
  text ??= readFileSync(SDK_TYPES_PATH, "utf8");
  return text;
}
