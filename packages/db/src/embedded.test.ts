import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, expect, it } from "vitest";
import { connect } from "./connect.ts";
import { EMBEDDED_SETTINGS, hasCluster } from "./embedded.ts";
import { resultRows } from "./rows.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

it("creates a new data folder's cluster apart, then runs it with the settings for one process, and keeps data across a restart", async () => {
  const dataDir = join(await mkdtemp(join(tmpdir(), "sy-embedded-")), "pgdata");
  dirs.push(dataDir);
  expect(hasCluster(dataDir)).toBe(false);

  const first = await connect({ dataDir });
  expect(hasCluster(dataDir)).toBe(true);
  const shown = resultRows<{ shared_buffers: string }>(await first.db.execute(sql`show shared_buffers`));
  expect(shown[0]?.shared_buffers).toBe(EMBEDDED_SETTINGS.shared_buffers);
  await first.db.execute(sql`create table kept (v text)`);
  await first.db.execute(sql`insert into kept values ('still here')`);
  await first.close();

  const again = await connect({ dataDir });
  const rows = resultRows<{ v: string }>(await again.db.execute(sql`select v from kept`));
  expect(rows.map((row) => row.v)).toEqual(["still here"]);
  const workMem = resultRows<{ work_mem: string }>(await again.db.execute(sql`show work_mem`));
  expect(workMem[0]?.work_mem).toBe(EMBEDDED_SETTINGS.work_mem);
  await again.close();
  // initdb and two starts of PGlite: several seconds each on a busy two-core machine.
}, 180_000);
