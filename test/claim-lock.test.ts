import postgres from "postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { claim } from "@switchyard/core";
import { CLAIM_LOCK } from "../packages/core/src/outbox/queue.ts";
import { serializedLock } from "../packages/core/src/outbox/prepared.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";

describe.runIf(postgresAvailable())("the fleet's claim lock (PostgreSQL)", () => {
  let pg: PostgresDatabase;
  beforeAll(async () => {
    pg = await createPostgresDatabase();
  });
  afterAll(async () => pg?.drop());

  itPostgres(
    "is taken back from a claimer that stalls holding it: claims resume within seconds",
    async () => {
      // A worker stopped (SIGSTOP, a frozen VM) after its lock statement and before its commit.
      const stalled = postgres(pg.url, { max: 1, onnotice: () => {} });
      const lock = new PgDialect().sqlToQuery(serializedLock(CLAIM_LOCK));
      const holder = await stalled.reserve();
      await holder.unsafe("begin");
      await holder.unsafe(lock.sql, lock.params as never[]);
      const started = Date.now();
      let claimed = false;
      while (!claimed && Date.now() - started < 10_000) {
        claimed = await claim(pg.database.db, { limit: 1, leaseMs: 1_000 }).then(
          () => true,
          () => false,
        );
      }
      const waited = Date.now() - started;
      stalled.end({ timeout: 0 }).catch(() => {});
      expect(claimed).toBe(true);
      // It came free because PostgreSQL ended the stalled session (idle in its transaction for 2 s), not by a commit.
      expect(waited).toBeGreaterThan(1_500);
      expect(waited).toBeLessThan(8_000);
    },
    30_000,
  );
});
