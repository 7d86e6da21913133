/**
 * The local test harness for script authors: `runScript` runs one script in
 * production's sandbox with the secrets and event given, mail captured.
 * Imported as `@switchyard/server/harness`; it opens no database and starts
 * no server. `switchyard test` is its command-line form.
 */
export { runScript } from "./run-script.ts";
export type { CapturedMail, LocalRun, RunScriptOptions } from "./run-script.ts";
