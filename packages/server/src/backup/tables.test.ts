import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { schema } from "@switchyard/db";
import { BACKUP_TABLES, SKIPPED_TABLES } from "./tables.ts";

const schemaTables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable));

describe("the backup's table list", () => {
  it("names every table of the schema as backed up or deliberately skipped", () => {
    const listed = new Set([...BACKUP_TABLES.map((t) => t.name), ...Object.keys(SKIPPED_TABLES)]);
    const forgotten = schemaTables.map((t) => getTableConfig(t).name).filter((name) => !listed.has(name));
    // A new table must be added to BACKUP_TABLES (in foreign-key order) or to
    // SKIPPED_TABLES with the reason a restore does without it.
    expect(forgotten).toEqual([]);
  });

  it("names no table twice and none that the schema lacks", () => {
    const names = BACKUP_TABLES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    const inSchema = new Set(schemaTables.map((t) => getTableConfig(t).name));
    expect(names.filter((name) => !inSchema.has(name))).toEqual([]);
    expect(Object.keys(SKIPPED_TABLES).filter((name) => names.includes(name))).toEqual([]);
  });

  it("puts every table after the tables its foreign keys point at, the order a restore inserts in", () => {
    const position = new Map(BACKUP_TABLES.map((t, i) => [t.name, i]));
    const violations: string[] = [];
    for (const table of schemaTables) {
      const config = getTableConfig(table);
      for (const fk of config.foreignKeys) {
        const target = getTableConfig(fk.reference().foreignTable).name;
        if (target === config.name) continue;
        if ((position.get(target) ?? -1) >= (position.get(config.name) ?? -1)) violations.push(`${config.name} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("reads wide tables a few rows per fetch", () => {
    const fetchOf = (name: string) => BACKUP_TABLES.find((t) => t.name === name)?.fetch;
    expect(fetchOf("scripts")).toBeLessThanOrEqual(16);
    expect(fetchOf("inbound_emails")).toBeLessThanOrEqual(4);
    for (const table of BACKUP_TABLES) expect(table.fetch).toBeGreaterThan(0);
  });
});
