import { beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";
import { countStatements } from "./support/statements.ts";

const MiB = 1024 * 1024;

/** A dotenv file of `count` names with values of `width` characters; the first `prefix` names are IMPORTED_0000... */
function dotenv(count: number, width: number, tag: string): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`IMPORTED_${String(i).padStart(4, "0")}=${tag}${"v".repeat(width - tag.length)}`);
  return `${lines.join("\n")}\n`;
}

describeEachDriver("dotenv imports at scale", (ctx) => {
  let app: TestApp;
  let admin: ReturnType<typeof client>;
  let appId: string;
  const importText = (text: string) =>
    admin.call("POST", `/api/v1/admin/apps/${appId}/secret-imports`, text, { "content-type": "text/plain" });

  beforeAll(async () => {
    const built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "bulk" })).json.id;
  });

  it("imports a 2 MiB file in a few batched statements, not round trips per name", async () => {
    // A tenth of the names exist already, so the file both creates and updates.
    expect((await importText(dotenv(190, 1050, "old"))).status).toBe(200);
    const text = dotenv(1900, 1050, "new");
    expect(text.length).toBeGreaterThan(1.9 * MiB);
    expect(text.length).toBeLessThan(2 * MiB);
    const counter = countStatements(ctx.database, (q) => !/switchyard_migrations/.test(q));
    const res = await importText(text);
    const statements = counter.stop();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ created: 1710, updated: 190, unchanged: 0 });
    // Each name used to cost six statements (about 11,000 here); batched, the whole import is a handful.
    expect(statements, counter.queries.map((q) => q.slice(0, 60)).join("\n")).toBeLessThan(40);
    const reveal = await admin.post(`/api/v1/admin/apps/${appId}/secrets/IMPORTED_0007/reveal`);
    expect(reveal.json).toMatchObject({ value: `new${"v".repeat(1047)}`, version: 2 });
    const versions = await admin.get(`/api/v1/admin/apps/${appId}/secrets/IMPORTED_0007/versions`);
    expect(versions.json.versions.map((v: { version: number; origin: string }) => [v.version, v.origin])).toEqual([
      [2, "import"],
      [1, "import"],
    ]);
    const audit = await admin.get(`/api/v1/admin/apps/${appId}/audit?name=IMPORTED_1899`);
    expect(audit.json.audit).toHaveLength(1);
    expect(audit.json.audit[0]).toMatchObject({ action: "secret.import", version: 1, details: { status: "created", line: 1900 } });
  });

  it("keeps /readyz answering while a 2 MiB import runs, and finishes in seconds", async () => {
    const text = dotenv(1900, 1050, "again");
    const started = Date.now();
    let finished = 0;
    const importing = importText(text).then((res) => {
      finished = Date.now();
      return res;
    });
    const readyLatencies: number[] = [];
    while (finished === 0) {
      const asked = Date.now();
      const ready = await app.request("/readyz");
      expect(ready.status).toBe(200);
      readyLatencies.push(Date.now() - asked);
    }
    const res = await importing;
    expect(res.status).toBe(200);
    expect(res.json.updated).toBe(1900);
    // Generous bounds for a shared machine; the old path took 12.8 s for 35 KB on PGlite.
    expect(finished - started).toBeLessThan(15_000);
    expect(readyLatencies.length).toBeGreaterThan(0);
    expect(Math.max(...readyLatencies)).toBeLessThan(10_000);
  });

  it("refuses a file of more than 5,000 names with 413, storing nothing", async () => {
    const lines = Array.from({ length: 5001 }, (_, i) => `TOO_MANY_${i}=x`).join("\n");
    const res = await importText(lines);
    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: "too_large", details: { limit: 5000, entries: 5001 } });
    expect((await admin.get(`/api/v1/admin/apps/${appId}/secrets/TOO_MANY_0`)).status).toBe(404);
    const atCap = Array.from({ length: 5000 }, (_, i) => `AT_CAP_${i}=x`).join("\n");
    expect((await importText(atCap)).json.created).toBe(5000);
  });
});
