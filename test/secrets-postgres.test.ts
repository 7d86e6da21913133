import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { beforeAll, describe, expect } from "vitest";
import { connect, type Database } from "@switchyard/db";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { withAdmin } from "./support/postgres-admin.ts";

describe.runIf(postgresAvailable())("secrets on PostgreSQL", () => {
  let pg: PostgresDatabase;
  beforeAll(async () => {
    pg = await createPostgresDatabase();
  });
  itPostgres("refuses reads, reveals and writes when the audit log cannot be written", async () => {
    // Seed as the owner, then serve through a role that may not INSERT into audit_log.
    const owner = await managerFor(pg.database);
    const admin = client(owner.app, owner.adminToken!);
    const appId = (await admin.post("/api/v1/admin/apps", { name: "audited" })).json.id;
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "KEPT", value: "original-value-123" });

    const role = `sy_noaudit_${randomBytes(4).toString("hex")}`;
    await withAdmin(async (sql) => {
      await sql.unsafe(`create role ${role} login`);
    });
    const url = new URL(pg.url);
    url.username = role;
    const limited: Database = await connect({ url: url.toString(), poolSize: 2 });
    try {
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`grant all on all tables in schema public to ${role}`);
      await sql.unsafe(`grant usage, select on all sequences in schema public to ${role}`);
      await sql.unsafe(`revoke insert on audit_log from ${role}`);
      await sql.end();

      const served = await managerFor(limited, { keyring: owner.keyring });
      const api = client(served.app, owner.adminToken!);
      const base = `/api/v1/admin/apps/${appId}`;
      const refused = (res: { status: number; json: any }) => {
        expect(res.status).toBe(503);
        expect(res.json.error.code).toBe("audit_unavailable");
        expect(JSON.stringify(res.json)).not.toContain("original-value-123");
      };
      refused(await api.post(`${base}/secrets/KEPT/reveal`));
      refused(await api.get(`${base}/secrets/KEPT`));
      refused(await api.post(`${base}/secrets`, { name: "KEPT", value: "overwritten" }));
      refused(await api.post(`${base}/secrets`, { name: "NEW_ONE", value: "x" }));
      refused(await api.delete(`${base}/secrets/KEPT`));
      refused(await api.call("POST", `${base}/secret-imports`, "KEPT=imported\nOTHER=1\n", { "content-type": "text/plain" }));
      await expect(served.secrets.resolveSecret(appId, "KEPT", { type: "run", id: "run_x", appId })).rejects.toMatchObject({
        code: "audit_unavailable",
      });
      // Nothing changed: the owner still reads the original, and no new names exist.
      expect((await admin.post(`${base}/secrets/KEPT/reveal`)).json).toMatchObject({ value: "original-value-123", version: 1 });
      const names = (await admin.get(`${base}/secrets`)).json.secrets.map((s: { name: string }) => s.name);
      expect(names).toEqual(["KEPT"]);
      await served.services.stop();
    } finally {
      await limited.close();
      await owner.services.stop();
      await pg.drop();
      await withAdmin((sql) => sql.unsafe(`drop role if exists ${role}`));
    }
  });
});
