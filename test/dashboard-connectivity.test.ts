import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  chromiumProblem,
  requireChromium,
  ensureDashboardBuilt,
  horizontalOverflow,
  launchChromium,
  newContext,
  screenshot,
  startDevServer,
  watchPage,
  type DevServer,
  type PageProblems,
} from "./support/browser.ts";
import { startCountingServer, type CountingServer } from "./support/fetch-servers.ts";
import { waitFor } from "./support/wait.ts";

// The Connectivity view in headless Chromium against a real `serve --dev`:
// a script fetches a healthy local API and a failing one; the view shows
// each host's status, latency and last error, and fits a phone.

requireChromium("the connectivity browser test");

const FETCH_ALL = `export default async (event) => {
  const out = [];
  for (const url of event.payload.urls) {
    try { const res = await fetch(url); await res.text(); out.push(res.status); }
    catch (e) { out.push(e.code); }
  }
  return out;
}`;

describe.skipIf(chromiumProblem !== null)("the Connectivity view in a browser", () => {
  let server: DevServer;
  let browser: Browser;
  let good: CountingServer;
  let bad: CountingServer;
  const problems: PageProblems = { list: [] };

  beforeAll(async () => {
    ensureDashboardBuilt();
    good = await startCountingServer((_req, res) => res.end("fine"));
    bad = await startCountingServer((_req, res) => {
      res.writeHead(503);
      res.end("unavailable");
    });
    [server, browser] = await Promise.all([
      startDevServer({
        pgliteTemplate: inject("pgliteTemplate"),
        env: { SWITCHYARD_EGRESS_ALLOW: `127.0.0.1:${good.port}, 127.0.0.1:${bad.port}`, SWITCHYARD_CONNECTIVITY_FLUSH_MS: "100" },
      }),
      launchChromium(),
    ]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await good?.close();
    await bad?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => (await server.api(method, path, body)).json;

  it("shows each destination's status, latency and last error, refreshed as fetches happen, at 1280×800 and 390×844", async () => {
    const app = await call("POST", "/api/v1/admin/apps", { name: "shop" });
    const script = await call("POST", `/api/v1/admin/apps/${app.id}/scripts`, { name: "sync", source: FETCH_ALL });
    const urls = [...Array(4).fill(`${good.origin}/v1/orders`), ...Array(6).fill(`${bad.origin}/v1/stock`)];
    await call("POST", `/api/v1/admin/apps/${app.id}/scripts/${script.id}/invoke`, { payload: { urls } });
    await waitFor(async () => {
      const hosts = (await call("GET", `/api/v1/admin/apps/${app.id}/connectivity`)).hosts as any[];
      return hosts.length === 2 && hosts.some((h) => h.status === "down");
    }, 30_000);

    for (const [label, viewport] of [
      ["desktop", { width: 1280, height: 800 }],
      ["phone", { width: 390, height: 844 }],
    ] as const) {
      const context = await newContext(browser, viewport);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      watchPage(page, problems);
      await page.goto(server.link);
      await page.getByRole("heading", { name: "Apps" }).waitFor();
      await page.goto(`${server.url}/apps/shop/connectivity`);
      // The nav names the tab; the page lists the hosts, the failing one first.
      await page.getByRole("navigation", { name: "App sections" }).getByRole("link", { name: "Connectivity", exact: true }).waitFor();
      await page.getByRole("heading", { level: 1, name: "Connectivity" }).waitFor();
      const table = page.getByRole("table", { name: "Destination hosts" });
      const rows = table.locator("tbody tr");
      await waitFor(async () => (await rows.count()) === 2, 10_000);
      const downRow = rows.nth(0);
      expect(await downRow.locator('[data-label="Host"] > code').textContent()).toBe(`127.0.0.1:${bad.port}`);
      expect(await downRow.locator('[data-label="Status"] .badge').textContent()).toBe("down");
      expect(await downRow.locator('[data-label="Errors"]').textContent()).toContain("6 (100%)");
      expect(await downRow.locator('[data-label="Errors"]').textContent()).toContain("http_503 ×6");
      expect(await downRow.locator('[data-label="Last error"] code').textContent()).toBe("http_503");
      expect(await downRow.locator('[data-label="Last success"]').textContent()).toBe("—");
      const upRow = rows.nth(1);
      expect(await upRow.locator('[data-label="Status"] .badge').textContent()).toBe("healthy");
      // The desktop pass adds one fetch (below), which the phone pass sees.
      expect(await upRow.locator('[data-label="Requests"]').textContent()).toBe(label === "desktop" ? "4" : "5");
      expect(await upRow.locator('[data-label="p50 / p95"]').textContent()).toMatch(/^\d+ ms \/ \d+ ms$/);
      expect(await upRow.locator('[data-label="Last error"]').textContent()).toBe("none");
      // The per-worker breakdown opens under the host.
      await downRow.getByText("1 worker").click();
      expect(await downRow.locator(".workers li").textContent()).toMatch(/6 requests, 6 errors \(100%\), p95 \d+ ms, last http_503/);

      if (label === "desktop") {
        // A fetch made while the view is open shows within its 5 s refresh.
        await call("POST", `/api/v1/admin/apps/${app.id}/scripts/${script.id}/invoke`, { payload: { urls: [`${good.origin}/v1/orders`] } });
        await page.locator('tbody tr:nth-child(2) [data-label="Requests"]', { hasText: "5" }).waitFor({ timeout: 10_000 });
      }
      await screenshot(page, `${label}-connectivity`);
      if (label === "phone") expect(await horizontalOverflow(page), "the Connectivity view is wider than the phone").toBeLessThanOrEqual(0);
      await context.close();
    }
    expect(problems.list).toEqual([]);
  }, 90_000);

  it("creates a connectivity trigger from the Triggers tab, and lists it with its filters", async () => {
    const context = await newContext(browser, { width: 1280, height: 800 });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watchPage(page, problems);
    await page.goto(server.link);
    await page.getByRole("heading", { name: "Apps" }).waitFor();
    await page.goto(`${server.url}/apps/shop/triggers`);
    await page.getByRole("button", { name: "New trigger" }).click();
    await page.getByLabel("Connectivity").check();
    await page.locator("#trigger-name").fill("alert");
    await page.locator("#trigger-hosts").fill(`127.0.0.1:${bad.port}, *.example.com`);
    await page.getByLabel("down", { exact: true }).check();
    await page.getByRole("button", { name: "Create trigger" }).click();
    const item = page.getByRole("listitem", { name: "Trigger alert" });
    await item.waitFor();
    expect(await item.textContent()).toContain(`127.0.0.1:${bad.port}, *.example.com becoming down`);
    const app = (await call("GET", "/api/v1/admin/apps/shop")) as { id: string };
    const triggers = (await call("GET", `/api/v1/admin/apps/${app.id}/triggers`)).triggers as Array<{ name: string; kind: string; config: unknown }>;
    expect(triggers.find((t) => t.name === "alert")).toMatchObject({ kind: "connectivity", config: { hosts: [`127.0.0.1:${bad.port}`, "*.example.com"], statuses: ["down"] } });
    await context.close();
    expect(problems.list).toEqual([]);
  }, 60_000);
});
