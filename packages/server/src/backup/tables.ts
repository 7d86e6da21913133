/**
 * What a backup holds, table by table, in an order where every table comes
 * after the tables its foreign keys point at, so a restore inserts them in
 * this order. `fetch` is how many rows one cursor FETCH reads: wide rows
 * (script sources, raw mail) are read a few at a time, so a backup's memory
 * is bounded by `fetch` times the widest row, never by the table.
 *
 * A table of the schema that is in neither list fails `backup.test.ts`, and a
 * database holding a table in neither list is refused by `backup create`:
 * a backup that silently leaves a table out is worse than none.
 */
export interface BackupTable {
  name: string;
  fetch: number;
  /** Why a restore needs it. */
  why: string;
  /**
   * Columns written as null: facts about the server the rows were read on
   * that would mislead the server they are restored to.
   */
  blank?: readonly string[];
}

export const BACKUP_TABLES: readonly BackupTable[] = [
  { name: "workspaces", fetch: 1000, why: "tenancy" },
  { name: "apps", fetch: 1000, why: "tenancy" },
  { name: "api_tokens", fetch: 1000, why: "tokens as stored (hashes only), so existing clients keep working" },
  { name: "meta", fetch: 1000, why: "installation facts: the bootstrap token was issued, so no second one is" },
  { name: "data_keys", fetch: 1000, why: "data keys, wrapped by the master key provider; never a master key" },
  { name: "secrets", fetch: 1000, why: "current values, still sealed by their data keys" },
  { name: "secret_versions", fetch: 1000, why: "version history, sealed" },
  { name: "scripts", fetch: 16, why: "source, compiled code and source maps" },
  { name: "engine_crashes", fetch: 1000, why: "runs that stopped the engine, so a restore keeps each workspace's count towards its block" },
  { name: "triggers", fetch: 1000, why: "triggers with their sealed signing secrets" },
  { name: "cron_state", fetch: 1000, why: "the last tick each cron fired, so a restore does not fire old ticks again" },
  { name: "outbox", fetch: 100, why: "pending events" },
  { name: "dead_letters", fetch: 100, why: "failed events kept for replay" },
  // Runs are history, not state a restore needs to work; they are kept
  // because the API, the dashboard and the audit trail point at them
  // (email_messages.run_id, a dead letter's attempts) and they hold no value
  // a backup may not carry (logs and results are stored masked).
  // finish_xid is a transaction id of the source server: on another server
  // the runs stream would take old runs for new ones once its own ids pass it.
  { name: "runs", fetch: 100, why: "run history (masked logs, results, errors)", blank: ["finish_xid"] },
  { name: "email_messages", fetch: 100, why: "the send log" },
  { name: "inbound_seen", fetch: 1000, why: "accepted deliveries, so a replayed webhook stays refused after a restore" },
  { name: "inbound_emails", fetch: 4, why: "raw inbound mail of accepted messages, for replay" },
  { name: "audit_log", fetch: 1000, why: "the audit trail, with each row's place and MAC in its workspace's chain" },
  { name: "audit_chain_heads", fetch: 1000, why: "each audit chain's signed checkpoint, so a restored log still verifies and a cut tail still shows" },
  { name: "connectivity_status", fetch: 1000, why: "each destination's status, so a restore does not fire a change twice" },
  { name: "connectivity_minutes", fetch: 1000, why: "fetch health per minute (the connectivity API's window)" },
  { name: "queue_samples", fetch: 1000, why: "the outbox sampled per minute (the stats API's queue series), so the Overview keeps its last day" },
  { name: "inbound_minutes", fetch: 1000, why: "inbound requests accepted and refused per minute (the stats API), the only record of refusals" },
  { name: "operator_webhooks", fetch: 1000, why: "operator webhooks with their sealed signing secrets, so receivers keep verifying after a restore" },
  { name: "webhook_deliveries", fetch: 100, why: "secret change events still to deliver, and dead-lettered ones kept for redelivery" },
];

/** Tables a backup leaves out on purpose, and why. */
export const SKIPPED_TABLES: Readonly<Record<string, string>> = {
  switchyard_migrations:
    "the migration level is recorded in the manifest instead; a restore migrates the empty database itself and refuses a backup of another level",
};
