import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { finished, listeningUrl, startCli, bootstrapToken } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";

// Timing-sensitive (a 100 ms bound across processes): runs in the solo phase,
// not beside the rest of the suite.
describe.runIf(postgresAvailable())("secrets across server processes", () => {
  const key = randomBytes(32).toString("base64");
  let pg: PostgresDatabase;
  const children: ReturnType<typeof startCli>[] = [];
  beforeAll(async () => {
    pg = await createPostgresDatabase();
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGTERM");
    for (const child of children) await finished(child);
    await pg?.drop();
  });

  itPostgres("a secret set through process A is read with the new value through process B within 100 ms", async () => {
    const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEY: key };
    const a = startCli(["serve", "--role", "api", "--port", "0"], env);
    children.push(a);
    const urlA = await listeningUrl(a);
    const b = startCli(["serve", "--role", "api", "--port", "0"], env);
    children.push(b);
    const urlB = await listeningUrl(b);
    const token = await bootstrapToken([a, b]);
    const call = async (url: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await res.json()) as any;
    };
    const appId = (await call(urlA, "POST", "/api/v1/admin/apps", { name: "shared" })).id;
    const path = `/api/v1/admin/apps/${appId}/secrets`;
    await call(urlA, "POST", path, { name: "ROTATING", value: "v0" });
    // Warm B's cache with the old value.
    expect((await call(urlB, "POST", `${path}/ROTATING/reveal`)).value).toBe("v0");
    const lags: number[] = [];
    for (let round = 1; round <= 5; round++) {
      await call(urlA, "POST", path, { name: "ROTATING", value: `v${round}` });
      const written = performance.now();
      for (;;) {
        const seen = (await call(urlB, "POST", `${path}/ROTATING/reveal`)).value;
        if (seen === `v${round}`) break;
        expect(performance.now() - written).toBeLessThan(100);
      }
      lags.push(performance.now() - written);
    }
    expect(Math.max(...lags)).toBeLessThan(100);
  }, 90_000);
});
