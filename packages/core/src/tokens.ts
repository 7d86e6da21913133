import { and, eq, isNull, sql } from "drizzle-orm";
import { generateToken, hashToken } from "@switchyard/crypto";
import { apiTokens, meta, type Db } from "@switchyard/db";
import { recordAudit } from "./audit.ts";
import { ForbiddenError, NotFoundError } from "./errors.ts";
import { newId } from "./ids.ts";
import { canSeeWorkspace, requireScope, type Principal, type TokenScope, TOKEN_SCOPES } from "./principal.ts";
import { getWorkspace } from "./tenancy.ts";

const TOKEN_PREFIX = "sy";

export interface CreatedToken {
  id: string;
  /** Shown once; only its hash is stored. */
  token: string;
  name: string;
  scopes: TokenScope[];
  workspaceId: string | null;
}

export interface TokenInput {
  name: string;
  scopes: TokenScope[];
  workspaceId?: string | null | undefined;
}

async function insertToken(db: Db, createdBy: string | null, input: TokenInput): Promise<CreatedToken> {
  const token = generateToken(TOKEN_PREFIX);
  const id = newId("tok");
  const workspaceId = input.workspaceId ?? null;
  const scopes = [...new Set(input.scopes)];
  await db.insert(apiTokens).values({ id, name: input.name, tokenHash: hashToken(token), scopes, workspaceId, createdBy });
  return { id, token, name: input.name, scopes, workspaceId };
}

/**
 * Issues a token. Only `admin` may; a token limited to a workspace can only
 * issue tokens limited to the same workspace.
 *
 * Scopes that make an app's code run (`scripts:write`, `triggers:write`) do
 * not need `secrets:reveal`: that code reads the app's unbound secrets, but
 * a host-bound secret only ever reaches the sandbox as a placeholder, so
 * such a token reaches bound values by no route (README, security model).
 */
export async function createToken(db: Db, principal: Principal, input: TokenInput): Promise<CreatedToken> {
  requireScope(principal, "admin");
  const workspaceId = await tokenWorkspace(db, principal, input.workspaceId ?? null);
  return db.transaction(async (tx) => {
    const created = await insertToken(tx, principal.id, { ...input, workspaceId });
    await recordAudit(tx, principal, {
      action: "token.create",
      outcome: "ok",
      workspaceId,
      name: input.name,
      details: { token_id: created.id, scopes: created.scopes },
    });
    return created;
  });
}

/**
 * The workspace id a new token is limited to (`requested` may be an id or a
 * name; the id is stored). A workspace token issues tokens for its own
 * workspace only, and learns nothing of others: any other answer is 403.
 */
async function tokenWorkspace(db: Db, principal: Principal, requested: string | null): Promise<string | null> {
  const limitedTo = principal.type === "token" ? principal.workspaceId : null;
  if (requested === null) return limitedTo;
  const found = await getWorkspace(db, principal, requested).catch((error: unknown) => {
    if (limitedTo !== null && error instanceof NotFoundError) return null;
    throw error;
  });
  // found is null only for a workspace token asking for a workspace it cannot see.
  if (found === null || (limitedTo !== null && found.id !== limitedTo)) {
    throw new ForbiddenError("a workspace token can only issue tokens for its own workspace", { workspace_id: limitedTo });
  }
  return found.id;
}

export async function revokeToken(db: Db, principal: Principal, id: string): Promise<void> {
  requireScope(principal, "admin");
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id));
  if (!row || (row.workspaceId !== null && !canSeeWorkspace(principal, row.workspaceId))) {
    throw new NotFoundError("token", id);
  }
  if (row.workspaceId === null && principal.type === "token" && principal.workspaceId !== null) {
    throw new NotFoundError("token", id);
  }
  await db.transaction(async (tx) => {
    await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
    await recordAudit(tx, principal, {
      action: "token.revoke",
      outcome: "ok",
      workspaceId: row.workspaceId,
      name: row.name,
      details: { token_id: id },
    });
  });
}

/** The principal behind a bearer token, or null when it is unknown or revoked. */
export async function authenticateToken(db: Db, token: string): Promise<Principal | null> {
  if (!token.startsWith(`${TOKEN_PREFIX}_`) || token.length > 200) return null;
  const [row] = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!row) return null;
  const scopes = new Set(row.scopes.filter((s): s is TokenScope => (TOKEN_SCOPES as readonly string[]).includes(s)));
  return { type: "token", id: row.id, scopes, workspaceId: row.workspaceId };
}

/**
 * Creates the first admin token exactly once per installation, even when
 * several processes start together: the `meta` row is the claim, and only the
 * process whose insert wins creates (and prints) the token. Answers null when
 * the token was issued before.
 */
export async function ensureBootstrapToken(db: Db): Promise<CreatedToken | null> {
  return db.transaction(async (tx) => {
    const claimed = await tx
      .insert(meta)
      .values({ key: "bootstrap_token", value: sql`'{}'::jsonb` })
      .onConflictDoNothing()
      .returning();
    if (claimed.length === 0) return null;
    const created = await insertToken(tx, null, { name: "bootstrap admin", scopes: ["admin"] });
    await tx
      .update(meta)
      .set({ value: { token_id: created.id } })
      .where(eq(meta.key, "bootstrap_token"));
    await recordAudit(tx, { type: "system", id: "bootstrap" }, {
      action: "token.create",
      outcome: "ok",
      name: created.name,
      details: { token_id: created.id, scopes: created.scopes },
    });
    return created;
  });
}
