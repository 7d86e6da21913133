import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { cronState, notifyIn, scripts, triggers, type Db } from "@switchyard/db";
import { recordAudit } from "../audit.ts";
import { ConflictError, NotFoundError, isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";
import { parseRetry, parseTriggerConfig, type TriggerKind } from "./config.ts";
import { KEEP_SECRETS, planSecretChange, triggerSecretAad, type SecretPlan } from "./signing.ts";
import { signingOf, typedTrigger, type Trigger } from "./typed.ts";

export type { Trigger } from "./typed.ts";

/** A trigger as created or changed: a generated signing secret is in it this once. */
export type TriggerWithSecret = Trigger & { signingSecret: string | null };

/** Seals a trigger's secret with its app's data key (the secrets service does). */
export interface TriggerSealer {
  sealForApp(tx: Db, appId: string, aad: string, plaintext: Buffer): Promise<Buffer>;
}

/**
 * Every change to a trigger is announced here (payload: the trigger id) on
 * commit, so processes that cache triggers for public endpoints forget them.
 */
export const TRIGGERS_CHANNEL = "switchyard_triggers";

/**
 * A PATCH of an email or http trigger's config that does not say `signing`
 * keeps the trigger's way of signing: leaving the field out must never
 * switch a signed trigger to unsigned (the provider's default).
 */
function keepSigning(current: Trigger, config: unknown): unknown {
  if ((current.kind !== "email" && current.kind !== "http") || typeof config !== "object" || config === null || "signing" in config) return config;
  const signing = signingOf(typedTrigger(current));
  const provider = (config as { provider?: unknown }).provider;
  if (signing === "mailgun" || provider === "mailgun") return config;
  return { ...config, signing: signing === "standard_webhooks" };
}

export interface TriggerInput {
  kind: TriggerKind;
  name: string;
  scriptId: string;
  config?: unknown;
  retry?: unknown;
  enabled?: boolean | undefined;
}

export interface TriggersServiceOptions {
  db: Db;
  /** Seals email and http triggers' signing secrets (the secrets service). */
  sealer: TriggerSealer;
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

/** The secret columns a plan writes. */
function secretColumns(plan: SecretPlan, sealed: Buffer | null | undefined): Partial<typeof triggers.$inferInsert> {
  const columns: Partial<typeof triggers.$inferInsert> = {};
  if (plan.replace) columns.secretSealed = sealed ?? null;
  if (plan.previous.kind === "set") Object.assign(columns, { secretPreviousSealed: plan.previous.sealed, secretPreviousUntil: plan.previous.until });
  if (plan.previous.kind === "clear") Object.assign(columns, { secretPreviousSealed: null, secretPreviousUntil: null });
  return columns;
}

/**
 * Triggers of an app: create, list, show, change, delete. Email and http
 * triggers may carry a signing secret, sealed with the app's data key by
 * `sealer`; each change is audited and announced on TRIGGERS_CHANNEL.
 *
 * @example
 * const triggers = createTriggersService({ db, sealer: secretsService });
 * const hook = await triggers.create(principal, "shop", { kind: "http", name: "orders", scriptId, config: { signing: true } });
 * hook.signingSecret; // "whsec_…", shown this once
 */
export function createTriggersService({ db, sealer }: TriggersServiceOptions) {
  const seal = (tx: Db, appId: string, triggerId: string, value: string | null) =>
    value ? sealer.sealForApp(tx, appId, triggerSecretAad(triggerId), Buffer.from(value)) : Promise.resolve(null);

  return {
    async create(principal: Principal, appRef: string, input: TriggerInput): Promise<TriggerWithSecret> {
      requireScope(principal, "triggers:write");
      const app = await getApp(db, principal, appRef);
      const { config, secret } = parseTriggerConfig(input.kind, input.config);
      const retry = parseRetry(input.retry);
      const scriptId = await scriptOf(db, app.id, input.scriptId);
      const id = newId("trg");
      return db.transaction(async (tx) => {
        const secretSealed = await seal(tx, app.id, id, secret?.value ?? null);
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
    },

    async list(principal: Principal, appRef: string): Promise<Trigger[]> {
      requireScope(principal, "scripts:read");
      const app = await getApp(db, principal, appRef);
      return db.select().from(triggers).where(eq(triggers.appId, app.id)).orderBy(asc(triggers.name));
    },

    async get(principal: Principal, appRef: string, id: string): Promise<Trigger> {
      requireScope(principal, "scripts:read");
      return find(db, (await getApp(db, principal, appRef)).id, id);
    },

    async update(principal: Principal, appRef: string, id: string, patch: Partial<Omit<TriggerInput, "kind">>): Promise<TriggerWithSecret> {
      requireScope(principal, "triggers:write");
      const app = await getApp(db, principal, appRef);
      const current = await find(db, app.id, id);
      const set: Partial<typeof triggers.$inferInsert> = { updatedAt: new Date() };
      if (patch.name !== undefined) set.name = patch.name;
      let plan = KEEP_SECRETS;
      if (patch.config !== undefined) {
        const next = parseTriggerConfig(current.kind, keepSigning(current, patch.config));
        set.config = next.config;
        if (next.secret) {
          const stored = { signing: signingOf(typedTrigger(current)), secretSealed: current.secretSealed, secretPreviousSealed: current.secretPreviousSealed };
          plan = planSecretChange(stored, { signing: next.signing, secret: next.secret, rotate: next.rotate }, set.updatedAt as Date);
        }
      }
      if (patch.retry !== undefined) set.retry = parseRetry(patch.retry);
      if (patch.enabled !== undefined) set.enabled = patch.enabled;
      if (patch.scriptId !== undefined) set.scriptId = await scriptOf(db, app.id, patch.scriptId);
      return db.transaction(async (tx) => {
        Object.assign(set, secretColumns(plan, plan.replace && (await seal(tx, app.id, current.id, plan.replace.value))));
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
        await notifyIn(tx, TRIGGERS_CHANNEL, row.id);
        const details: Record<string, unknown> = { trigger_id: row.id };
        if (plan.replace) details.secret_replaced = true;
        if (plan.previous.kind === "set") details.previous_secret_until = plan.previous.until.toISOString();
        await recordAudit(tx, principal, { action: "trigger.update", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: row.name, details });
        return { ...row, signingSecret: plan.replace?.reveal ? plan.replace.value : null };
      });
    },

    async remove(principal: Principal, appRef: string, id: string): Promise<void> {
      requireScope(principal, "triggers:write");
      const app = await getApp(db, principal, appRef);
      const current = await find(db, app.id, id);
      await db.transaction(async (tx) => {
        await tx.delete(triggers).where(eq(triggers.id, current.id));
        await notifyIn(tx, TRIGGERS_CHANNEL, current.id);
        await recordAudit(tx, principal, { action: "trigger.delete", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: current.name, details: { trigger_id: current.id } });
      });
    },
  };
}

export type TriggersService = ReturnType<typeof createTriggersService>;

/** For public endpoints and runners: a trigger by id, without a principal. */
export async function getTriggerById(db: Db, id: string): Promise<Trigger | undefined> {
  const [row] = await db.select().from(triggers).where(eq(triggers.id, id));
  return row;
}

/**
 * The ids of an app's triggers that are reachable from outside (http and
 * email): for an unsigned one the id in its URL is the credential, so the
 * admin API hides these ids from tokens that cannot manage triggers.
 */
export async function publicTriggerIds(db: Db, appId: string): Promise<string[]> {
  const rows = await db
    .select({ id: triggers.id })
    .from(triggers)
    .where(and(eq(triggers.appId, appId), inArray(triggers.kind, ["http", "email"])));
  return rows.map((r) => r.id);
}
