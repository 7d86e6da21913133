import { randomBytes } from "node:crypto";
import { createApp, createSecretsService, type Principal, type SecretsService } from "@switchyard/core";
import { parseKeyring, type Keyring } from "@switchyard/crypto";
import { connect, migrate, type Database, type Driver } from "@switchyard/db";
import { createScratchDatabase } from "../support/scratch-postgres.ts";

const SYSTEM: Principal = { type: "system", id: "bench" };

export interface SecretsFixture {
  driver: Driver;
  /** "PostgreSQL 15.4 (sy_bench_…)" or "PGlite (in memory)". */
  databaseLabel: string;
  service: SecretsService;
  appId: string;
  name: string;
  /** The plaintext that was set, to check every path returns it. */
  value: string;
  /** One round trip to the database (`select 1`): the floor under any uncached read. */
  ping(): Promise<void>;
  /** Stops the service, closes the database and drops the scratch database. Safe to call twice. */
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Embedded PGlite instead of PostgreSQL. */
  pglite: boolean;
  /** A URL to a PostgreSQL database whose user may create databases. */
  adminUrl: string;
  /** The master keyring (an HSM's, say); a random environment key by default. */
  keyring?: Keyring;
}

/**
 * A migrated database of its own, one app, a random master key and one set
 * secret (`API_KEY`, a 40-character API key), behind a started secrets service.
 * On any failure everything made so far is torn down before the error is rethrown.
 */
export async function openFixture(options: FixtureOptions): Promise<SecretsFixture> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    // Last made, first undone; every step runs even if an earlier one throws.
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "bench teardown failed");
  };

  try {
    let database: Database;
    let databaseLabel: string;
    if (options.pglite) {
      database = await connect();
      databaseLabel = "PGlite (embedded, in memory)";
    } else {
      const scratch = await createScratchDatabase(options.adminUrl, "sy_bench");
      cleanups.push(() => scratch.drop());
      database = await connect({ url: scratch.url, poolSize: 4, applicationName: "switchyard-bench" });
      databaseLabel = `PostgreSQL ${scratch.serverVersion} (database ${scratch.name}, dropped at exit)`;
    }
    cleanups.push(() => database.close());
    await migrate(database.db);

    const keyring = options.keyring ? { ok: true as const, value: options.keyring } : parseKeyring({ masterKey: randomBytes(32).toString("base64") });
    if (!keyring.ok) throw new Error(`bench keyring refused: ${keyring.error.message}`);

    const service = createSecretsService({ database, keyring: keyring.value });
    await service.start();
    cleanups.push(() => service.stop());

    const app = await createApp(database.db, SYSTEM, { name: `bench-${randomBytes(4).toString("hex")}` });
    // Shaped like a real provider key: "sk_live_" and 32 base64url characters.
    const value = `sk_live_${randomBytes(24).toString("base64url")}`;
    const name = "API_KEY";
    await service.set(SYSTEM, { kind: "app", app: app.id }, name, value);

    return { driver: database.driver, databaseLabel, service, appId: app.id, name, value, ping: () => database.ping(), close };
  } catch (error) {
    await close().catch((teardown: unknown) => console.error("bench: teardown after a failed setup also failed:", teardown));
    throw error;
  }
}
