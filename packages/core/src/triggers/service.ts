import { and, asc, eq, sql } from "drizzle-orm";
import { cronState, scripts, triggers, type Db } from "@switchyard/db";
import { recordAudit } from "../audit.ts";
import { ConflictError, NotFoundError, isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";
import { parseEmailConfig, parseRetry, parseTriggerConfig, type TriggerKind } from "./config.ts";
import { ROTATION_GRACE_MS, triggerSecretAad, type EmailConfig } from "./email-config.ts";

export type Trigger = typeof triggers.$inferSelect;

/** A trigger as created or changed: a generated signing secret is in it this once. */
export type TriggerWithSecret = Trigger & { signingSecret: string | null };

/** Seals an email trigger's secret with its app's data key (the secrets service does). */
export interface TriggerSealer {
  sealForApp(tx: Db, appId: string, aad: string, plaintext: Buffer): Promise<Buffer>;
}

/** Config and the secret to seal; email triggers split theirs, other kinds have none. */
function configOf(kind: TriggerKind, config: unknown) {
  if (kind !== "email") return { config: parseTriggerConfig(kind, config), secret: null, rotate: false };
  const parsed = parseEmailConfig(config);
  return { config: { ...parsed.config }, secret: parsed.secret, rotate: parsed.rotate };
}

/**
 * A PATCH of an email trigger's config that does not say `signing` keeps the
 * trigger's way of signing: leaving the field out must never switch a
 * signed trigger to unsigned (the provider's default).
 */
function keepSigning(current: Trigger, config: unknown): unknown {
  if (current.kind !== "email" || typeof config !== "object" || config === null || "signing" in config) return config;
  const signing = (current.config as unknown as EmailConfig).signing;
  const provider = (config as { provider?: unknown }).provider;
  if (signing === "mailgun" || provider === "mailgun") return config;
  return { ...config, signing: signing === "standard_webhooks" };
}

function needSealer(sealer: TriggerSealer | undefined): TriggerSealer {
  if (!sealer) throw new Error("email triggers need a sealer for their secret");
  return sealer;
}

export interface TriggerInput {
  kind: TriggerKind;
  name: string;
  scriptId: string;
  config?: unknown;
  retry?: unknown;
  enabled?: boolean | undefined;
}

async function scriptOf(db: Db, appId: string, ref: string) {
  const [row] = await db
    .select({ id: scripts.id })
    .from(scripts)
    .where(and(eq(scripts.appId, appId), eq(scripts.id, ref)));
  if (!row) throw new NotFoundError("script", ref);
  return row.id;
}

async function find(db: Db, appId: string, id: string): Promise<Trigger> {
  const [row] = await db
    .select()
    .from(triggers)
    .where(and(eq(triggers.appId, appId), eq(triggers.id, id)));
  if (!row) throw new NotFoundError("trigger", id);
  return row;
}

export async function createTrigger(
  db: Db,
  principal: Principal,
  appRef: string,
  input: TriggerInput,
  sealer?: TriggerSealer,
): Promise<TriggerWithSecret> {
  requireScope(principal, "triggers:write");
  const app = await getApp(db, principal, appRef);
  const { config, secret } = configOf(input.kind, input.config);
  const retry = parseRetry(input.retry);
  const scriptId = await scriptOf(db, app.id, input.scriptId);
  const id = newId("trg");
  return db.transaction(async (tx) => {
    const secretSealed = secret?.value ? await needSealer(sealer).sealForApp(tx, app.id, triggerSecretAad(id), Buffer.from(secret.value)) : null;
    let row: Trigger | undefined;
    try {
      [row] = await tx
        .insert(triggers)
        .values({ id, appId: app.id, scriptId, kind: input.kind, name: input.name, config, retry, enabled: input.enabled ?? true, secretSealed })
        .onConflictDoNothing()
        .returning();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    if (!row) throw new ConflictError(`a trigger named ${JSON.stringify(input.name)} already exists in this app`, { name: input.name });
    // A new cron trigger starts from now: it does not fire ticks from before it existed.
    if (row.kind === "cron") await tx.insert(cronState).values({ triggerId: row.id, lastTick: new Date() });
    await recordAudit(tx, principal, { action: "trigger.create", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: row.name, details: { trigger_id: row.id, kind: row.kind } });
    return { ...row, signingSecret: secret?.reveal ? secret.value : null };
  });
}

export async function listTriggers(db: Db, principal: Principal, appRef: string): Promise<Trigger[]> {
  requireScope(principal, "scripts:read");
  const app = await getApp(db, principal, appRef);
  return db.select().from(triggers).where(eq(triggers.appId, app.id)).orderBy(asc(triggers.name));
}

export async function getTrigger(db: Db, principal: Principal, appRef: string, id: string): Promise<Trigger> {
  requireScope(principal, "scripts:read");
  return find(db, (await getApp(db, principal, appRef)).id, id);
}

export async function updateTrigger(
  db: Db,
  principal: Principal,
  appRef: string,
  id: string,
  patch: Partial<Omit<TriggerInput, "kind">>,
  sealer?: TriggerSealer,
): Promise<TriggerWithSecret> {
  requireScope(principal, "triggers:write");
  const app = await getApp(db, principal, appRef);
  const current = await find(db, app.id, id);
  const set: Partial<typeof triggers.$inferInsert> = { updatedAt: new Date() };
  if (patch.name !== undefined) set.name = patch.name;
  let secret: { value: string | null; reveal: boolean } | null = null;
  if (patch.config !== undefined) {
    const next = configOf(current.kind, keepSigning(current, patch.config));
    set.config = next.config;
    // An email trigger keeps its secret while its way of signing stays the
    // same (a Mailgun key given again replaces it); a change of way brings a
    // new secret, or none. A rotation keeps the old secret valid for a grace
    // period; any other replacement ends it at once.
    if (next.secret) {
      const same = (current.config as unknown as EmailConfig).signing === (next.config as unknown as EmailConfig).signing;
      const mailgunKeyGiven = (next.config as unknown as EmailConfig).signing === "mailgun";
      if (!same || mailgunKeyGiven || next.rotate) secret = next.secret;
      const rotating = same && next.rotate && current.secretSealed !== null;
      set.secretPreviousSealed = rotating ? current.secretSealed : null;
      set.secretPreviousUntil = rotating ? new Date(Date.now() + ROTATION_GRACE_MS) : null;
      if (!secret && !rotating && current.secretPreviousSealed) {
        // Unchanged secret: an earlier rotation's grace period runs on.
        delete set.secretPreviousSealed;
        delete set.secretPreviousUntil;
      }
    }
  }
  if (patch.retry !== undefined) set.retry = parseRetry(patch.retry);
  if (patch.enabled !== undefined) set.enabled = patch.enabled;
  if (patch.scriptId !== undefined) set.scriptId = await scriptOf(db, app.id, patch.scriptId);
  return db.transaction(async (tx) => {
    if (secret) set.secretSealed = secret.value ? await needSealer(sealer).sealForApp(tx, app.id, triggerSecretAad(current.id), Buffer.from(secret.value)) : null;
    let row: Trigger | undefined;
    try {
      // Compare-and-set on updated_at (milliseconds, as read): two changes
      // racing (say, two rotations) must not both win, or one caller would
      // hold a secret that was never stored.
      [row] = await tx
        .update(triggers)
        .set(set)
        .where(and(eq(triggers.id, current.id), sql`date_trunc('milliseconds', ${triggers.updatedAt}) = ${current.updatedAt.toISOString()}::timestamptz`))
        .returning();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a trigger named ${JSON.stringify(patch.name)} already exists in this app`);
      throw error;
    }
    if (!row) {
      const [still] = await tx.select({ id: triggers.id }).from(triggers).where(eq(triggers.id, current.id));
      if (!still) throw new NotFoundError("trigger", id);
      throw new ConflictError("the trigger was changed by someone else meanwhile; read it again and retry", { trigger_id: current.id });
    }
    await recordAudit(tx, principal, { action: "trigger.update", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: row.name, details: { trigger_id: row.id, ...(secret ? { secret_replaced: true } : {}), ...(set.secretPreviousUntil ? { previous_secret_until: set.secretPreviousUntil.toISOString() } : {}) } });
    return { ...row, signingSecret: secret?.reveal ? secret.value : null };
  });
}

export async function deleteTrigger(db: Db, principal: Principal, appRef: string, id: string): Promise<void> {
  requireScope(principal, "triggers:write");
  const app = await getApp(db, principal, appRef);
  const current = await find(db, app.id, id);
  await db.transaction(async (tx) => {
    await tx.delete(triggers).where(eq(triggers.id, current.id));
    await recordAudit(tx, principal, { action: "trigger.delete", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: current.name, details: { trigger_id: current.id } });
  });
}

/** For public endpoints and runners: a trigger by id, without a principal. */
export async function getTriggerById(db: Db, id: string): Promise<Trigger | undefined> {
  const [row] = await db.select().from(triggers).where(eq(triggers.id, id));
  return row;
}
