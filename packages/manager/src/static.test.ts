import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppEnv } from "./env.ts";
import { DASHBOARD_CSP, DEFAULT_DASHBOARD_DIR, dashboardRoutes } from "./static.ts";

/** The manager's shape in small: routes first, the dashboard last, then the JSON 404. */
function appWith(dir: string) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/api/v1/openapi.json", (c) => c.json({ openapi: "3.1.0" }));
  app.post("/api/v1/hooks/:id", (c) => c.json({ event_id: "evt_1" }, 202));
  dashboardRoutes(app, { dir });
  app.notFound((c) => c.json({ error: { code: "not_found", message: "no route" } }, 404));
  return app;
}

describe("the dashboard's static files", () => {
  let dist: string;
  let app: Hono<AppEnv>;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "sy-static-"));
    dist = join(root, "dist");
    await mkdir(join(dist, "assets"), { recursive: true });
    await writeFile(join(dist, "index.html"), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
    await writeFile(join(dist, "assets", "index-abc123.js"), "console.log(1)");
    await writeFile(join(dist, "favicon.svg"), "<svg/>");
    await writeFile(join(root, "secret.txt"), "outside");
    app = appWith(dist);
  });
  afterAll(() => rm(join(dist, ".."), { recursive: true, force: true }));

  it("answers / with index.html, revalidated on every load, under a strict CSP", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe-inline");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(await res.text()).toContain("/assets/index-abc123.js");
  });

  it("answers client-side routes with index.html so a reload lands on the same view", async () => {
    for (const path of ["/apps/billing/runs", "/apps/billing/scripts/scr_1?x=1", "/some/thing/"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-security-policy"), path).toBe(DASHBOARD_CSP);
    }
  });

  it("caches hashed assets for a year and other files not at all", async () => {
    const asset = await app.request("/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await asset.text()).toBe("console.log(1)");
    const icon = await app.request("/favicon.svg");
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(icon.headers.get("cache-control")).toBe("no-cache");
  });

  it("answers 304 to a matching If-None-Match", async () => {
    const first = await app.request("/");
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await app.request("/", { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
  });

  it("answers HEAD like GET without a body", async () => {
    const res = await app.request("/assets/index-abc123.js", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("leaves the API and the operations endpoints alone", async () => {
    expect(await (await app.request("/healthz")).json()).toEqual({ status: "ok" });
    expect((await app.request("/api/v1/openapi.json")).headers.get("content-type")).toMatch(/json/);
    for (const path of ["/api/v1/nope", "/api", "/api/", "/metrics", "/readyz"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toMatch(/application\/json/);
    }
    expect((await app.request("/api/v1/hooks/x", { method: "POST" })).status).toBe(202);
    // Only GET and HEAD reach the dashboard.
    expect((await app.request("/apps/billing", { method: "POST" })).status).toBe(404);
  });

  it("does not answer a missing file that has an extension with index.html", async () => {
    const res = await app.request("/assets/gone-123.js");
    expect(res.status).toBe(404);
  });

  it("never serves a file outside the build", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/%00"]) {
      const res = await app.request(path);
      expect(await res.text(), path).not.toContain("outside");
    }
  });

  it("answers 503 with how to build it when there is no build, and the API still works", async () => {
    const bare = appWith(join(dist, "no-such-dir"));
    const res = await bare.request("/apps/x/secrets");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toContain("pnpm run build:dashboard");
    expect((await bare.request("/healthz")).status).toBe(200);
  });

  it("finds the repository's dashboard/dist by default", () => {
    expect(DEFAULT_DASHBOARD_DIR.replaceAll("\\", "/")).toMatch(/\/dashboard\/dist$/);
    expect(DEFAULT_DASHBOARD_DIR).not.toContain("packages");
  });
});
