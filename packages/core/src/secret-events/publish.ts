import type { Db } from "@switchyard/db";
import { fanOutToWebhooks } from "../webhooks/enqueue.ts";
import type { SecretChange } from "./events.ts";
import { fanOutToTriggers } from "./triggers.ts";

/**
 * Announces secret changes to `secret_changed` triggers and operator
 * webhooks, with `tx`: the transaction that writes the change, so each event
 * is queued exactly once, exactly when the change commits (a rolled-back
 * change announces nothing). Nothing here carries a value.
 */
export async function publishSecretChanges(tx: Db, changes: readonly SecretChange[]): Promise<void> {
  if (changes.length === 0) return;
  await fanOutToTriggers(tx, changes);
  await fanOutToWebhooks(tx, changes);
}
