import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { TestProject } from "vitest/node";
import { connect, migrate } from "@switchyard/db";
import { postgresReachable, urlFor, withAdmin } from "./postgres-admin.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A tarball of a migrated PGlite data dir; each test file loads its own copy. */
    pgliteTemplate: string;
    /** A migrated PostgreSQL database to copy with CREATE DATABASE ... TEMPLATE, or null. */
    postgresTemplate: string | null;
    /** Why PostgreSQL could not be reached, when it could not. */
    postgresProblem: string | null;
  }
}

/**
 * Runs once per test run. PGlite's first open runs initdb (seconds), so one
 * instance is migrated here and dumped; every test file clones it. PostgreSQL
 * gets one migrated template database that files copy.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-test-"));
  const pg = await PGlite.create();
  const embedded = await connect({ pglite: pg });
  await migrate(embedded.db);
  const dump = await pg.dumpDataDir("none");
  const templatePath = join(dir, "pglite-template.tar");
  await writeFile(templatePath, Buffer.from(await dump.arrayBuffer()));
  await embedded.close();
  project.provide("pgliteTemplate", templatePath);

  const problem = await postgresReachable();
  let template: string | null = null;
  if (!problem) {
    template = `sy_template_${process.pid}_${Date.now()}`;
    const name = template;
    await withAdmin((sql) => sql.unsafe(`create database "${name}"`));
    const database = await connect({ url: urlFor(name), poolSize: 1 });
    await migrate(database.db);
    await database.close();
  }
  project.provide("postgresTemplate", template);
  project.provide("postgresProblem", problem);

  return async () => {
    await rm(dir, { recursive: true, force: true });
    if (template) {
      const name = template;
      await withAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)).catch(() => {});
    }
  };
}
