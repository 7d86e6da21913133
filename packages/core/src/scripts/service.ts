import { and, asc, eq, or, sql } from "drizzle-orm";
import { scripts, type Db } from "@switchyard/db";
import { recordAudit } from "../audit.ts";
import { ConflictError, NotFoundError, SwitchyardError, TooLargeError, ValidationError, isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp, type App } from "../tenancy.ts";
import type { Compile, LimitPolicy, ScriptLanguage, StoredLimits } from "./types.ts";

export type Script = typeof scripts.$inferSelect;

export interface DeployInput {
  name: string;
  source: string;
  language: ScriptLanguage;
  limits?: StoredLimits | undefined;
  freshContext?: boolean | undefined;
}

export interface ScriptsServiceOptions {
  db: Db;
  compile: Compile;
  limits: LimitPolicy;
  /** Largest source accepted, in bytes. */
  maxSourceBytes?: number;
}

/**
 * Scripts: deploy (compile, then store source beside compiled code), redeploy
 * (a new version), read and delete. A script that does not compile is refused
 * with 422 and its diagnostics.
 */
export function createScriptsService(options: ScriptsServiceOptions) {
  const { db, compile } = options;
  const maxSourceBytes = options.maxSourceBytes ?? 1024 * 1024;

  function checkLimits(limits: StoredLimits | undefined): StoredLimits {
    const out: StoredLimits = {};
    for (const field of ["memory_mb", "cpu_ms", "wall_ms"] as const) {
      const value = limits?.[field];
      if (value === undefined) continue;
      const max = options.limits.max[field];
      if (value > max) throw new ValidationError(`limits.${field} is ${value}; the operator's maximum is ${max}`, { field, max });
      out[field] = value;
    }
    return out;
  }

  async function compiled(name: string, source: string, language: ScriptLanguage) {
    const size = Buffer.byteLength(source, "utf8");
    if (size > maxSourceBytes) throw new TooLargeError("the script source", maxSourceBytes, size);
    const result = await compile({ source, language, filename: `${name}.${language}`, maxBytes: maxSourceBytes });
    if (!result.ok) {
      throw new SwitchyardError("unprocessable", result.error.message, {
        details: { reason: result.error.code, diagnostics: result.error.diagnostics },
      });
    }
    return result.value;
  }

  async function find(db: Db, app: App, idOrName: string): Promise<Script> {
    const [row] = await db
      .select()
      .from(scripts)
      .where(and(eq(scripts.appId, app.id), or(eq(scripts.id, idOrName), eq(scripts.name, idOrName))));
    if (!row) throw new NotFoundError("script", idOrName);
    return row;
  }

  return {
    async deploy(principal: Principal, appRef: string, input: DeployInput): Promise<Script> {
      requireScope(principal, "scripts:write");
      const app = await getApp(db, principal, appRef);
      const limits = checkLimits(input.limits);
      const { code, sourceMap } = await compiled(input.name, input.source, input.language);
      return db.transaction(async (tx) => {
        let row: Script | undefined;
        try {
          [row] = await tx
            .insert(scripts)
            .values({
              id: newId("scr"),
              appId: app.id,
              name: input.name,
              version: 1,
              language: input.language,
              source: input.source,
              compiled: code,
              sourceMap,
              limits,
              freshContext: input.freshContext ?? false,
            })
            .onConflictDoNothing()
            .returning();
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
        if (!row) throw nameTaken(input.name);
        await recordAudit(tx, principal, { action: "script.deploy", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: row.name, version: 1 });
        return row;
      });
    },

    /**
     * A new version from the script's full representation (POST's body): what
     * is left out stays as it was; a changed `name` renames the script, and a
     * name another script of the app holds is a conflict.
     */
    async redeploy(principal: Principal, appRef: string, scriptRef: string, input: Partial<DeployInput>): Promise<Script> {
      requireScope(principal, "scripts:write");
      const app = await getApp(db, principal, appRef);
      const current = await find(db, app, scriptRef);
      const name = input.name ?? current.name;
      const language = input.language ?? current.language;
      const source = input.source ?? current.source;
      const limits = input.limits === undefined ? current.limits : checkLimits(input.limits);
      const { code, sourceMap } = await compiled(name, source, language);
      return db.transaction(async (tx) => {
        let row: Script | undefined;
        try {
          [row] = await tx
            .update(scripts)
            .set({
              name,
              version: current.version + 1,
              language,
              source,
              compiled: code,
              sourceMap,
              limits,
              freshContext: input.freshContext ?? current.freshContext,
              // The same code would stop the engine again: its quarantine moves to the new version.
              // Decided on the row as it is updated, so a crash recorded since `current` was read counts;
              // the compare-and-set below makes that row's code `current.compiled`.
              ...(code === current.compiled ? { crashedVersion: sql`case when ${scripts.crashedVersion} = ${scripts.version} then ${current.version + 1} else ${scripts.crashedVersion} end` } : {}),
              updatedAt: new Date(),
            })
            // Compare-and-set on the version: two deploys racing do not both win.
            .where(and(eq(scripts.id, current.id), eq(scripts.version, current.version)))
            .returning();
        } catch (error) {
          if (isUniqueViolation(error)) throw nameTaken(name);
          throw error;
        }
        if (!row) throw new ConflictError("the script was deployed by someone else meanwhile; retry", { version: current.version });
        const renamed = name === current.name ? null : { renamed_from: current.name };
        await recordAudit(tx, principal, {
          action: "script.deploy",
          outcome: "ok",
          appId: app.id,
          workspaceId: app.workspaceId,
          name: row.name,
          version: row.version,
          details: renamed,
        });
        return row;
      });
    },

    async list(principal: Principal, appRef: string): Promise<Script[]> {
      requireScope(principal, "scripts:read");
      const app = await getApp(db, principal, appRef);
      return db.select().from(scripts).where(eq(scripts.appId, app.id)).orderBy(asc(scripts.name));
    },

    async get(principal: Principal, appRef: string, scriptRef: string): Promise<Script> {
      requireScope(principal, "scripts:read");
      return find(db, await getApp(db, principal, appRef), scriptRef);
    },

    async remove(principal: Principal, appRef: string, scriptRef: string): Promise<void> {
      requireScope(principal, "scripts:write");
      const app = await getApp(db, principal, appRef);
      const script = await find(db, app, scriptRef);
      await db.transaction(async (tx) => {
        await tx.delete(scripts).where(eq(scripts.id, script.id));
        await recordAudit(tx, principal, { action: "script.delete", outcome: "ok", appId: app.id, workspaceId: app.workspaceId, name: script.name, version: script.version });
      });
    },

    /** The app and script a manual invoke runs; needs `scripts:write`. */
    async forInvoke(principal: Principal, appRef: string, scriptRef: string): Promise<{ app: App; script: Script }> {
      requireScope(principal, "scripts:write");
      const app = await getApp(db, principal, appRef);
      return { app, script: await find(db, app, scriptRef) };
    },

    /** The operator's limits applied to a script's own. */
    effectiveLimits(script: Pick<Script, "limits">): Required<StoredLimits> {
      return { ...options.limits.defaults, ...script.limits };
    },

  };
}

const nameTaken = (name: string) => new ConflictError(`a script named ${JSON.stringify(name)} already exists in this app`, { name });

export type ScriptsService = ReturnType<typeof createScriptsService>;

/** For runners: the current version of a script by id, without a principal. */
export async function getScriptById(db: Db, scriptId: string): Promise<Script | undefined> {
  const [row] = await db.select().from(scripts).where(eq(scripts.id, scriptId));
  return row;
}
