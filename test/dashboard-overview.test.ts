import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signWebhook } from "@switchyard/crypto";
import { startSmtpSink, type SmtpSink } from "@switchyard/email/testing";
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
import { waitFor } from "./support/wait.ts";

// The Overview in headless Chromium against a real `serve --dev`, fed by
// real work: scripts that succeed, fail and dead-letter, wait in a queue one
// worker slot deep, send mail through a real SMTP server (one refused),
// and inbound email and http requests accepted and refused. The charts are
// drawn, their captions say the figures, the window switches, and the page
// fits 1280×800 and 390×844 (screenshots in artifacts/screenshots).

requireChromium("the Overview browser test");

const OK = `export default async (event) => ({ kind: event.kind })`;
const FAILS = `export default async () => { throw new NonRetryableError("the order is gone"); }`;
const SLOW = `export default async () => { await new Promise((r) => setTimeout(r, 700)); return "slept"; }`;
// A refused recipient is the mail's failure, not the run's.
const MAILS = `export default async (event) => {
  try { return await email.send({ to: event.payload.to, subject: "Receipt", text: "Thanks" }); } catch (e) { return { refused: e.code }; }
}`;

// Skipped only off CI without Chromium: requireChromium() above fails the file under CI=true and names the problem otherwise.
describe.skipIf(chromiumProblem !== null)("the Overview in a browser", () => {
  let server: DevServer;
  let browser: Browser;
  let sink: SmtpSink;
  const problems: PageProblems = { list: [] };

  const call = (method: string, path: string, body?: unknown) => server.api(method, path, body);
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } }).then((r) => r.status);

  beforeAll(async () => {
    ensureDashboardBuilt();
    sink = await startSmtpSink({ refuse: (a) => a.startsWith("nobody@") });
    [server, browser] = await Promise.all([
      startDevServer({
        pgliteTemplate: inject("pgliteTemplate"),
        // One run at a time, so the slow runs queue; the queue sampled twice a second.
        env: { SWITCHYARD_SMTP_URL: sink.url, SWITCHYARD_EMAIL_FROM: "shop@switchyard.test", SWITCHYARD_WORKER_CONCURRENCY: "1", SWITCHYARD_STATS_SAMPLE_MS: "500" },
      }),
      launchChromium(),
    ]);

    const app = (await call("POST", "/api/v1/admin/apps", { name: "shop" })).json;
    const deploy = async (name: string, source: string) => (await call("POST", `/api/v1/admin/apps/${app.id}/scripts`, { name, source })).json.id as string;
    const invoke = async (script: string, payload: unknown = {}) => expect((await call("POST", `/api/v1/admin/apps/${app.id}/scripts/${script}/invoke`, { payload })).status).toBe(202);
    const [ok, fails, slow, mails] = [await deploy("ok", OK), await deploy("fails", FAILS), await deploy("slow", SLOW), await deploy("mails", MAILS)];
    for (let i = 0; i < 4; i++) await invoke(slow);
    for (let i = 0; i < 5; i++) await invoke(ok);
    await invoke(fails);
    await invoke(mails, { to: "ann@example.com" });
    await invoke(mails, { to: "nobody@example.com" });

    const hook = (await call("POST", `/api/v1/admin/apps/${app.id}/triggers`, { kind: "http", name: "orders", script_id: ok, config: {} })).json;
    for (let i = 0; i < 3; i++) expect(await post(`/api/v1/hooks/${hook.id}`, JSON.stringify({ order: i }))).toBe(202);
    expect(await post(`/api/v1/hooks/trg_${"0".repeat(24)}`, "{}")).toBe(401);
    const inbox = (await call("POST", `/api/v1/admin/apps/${app.id}/triggers`, { kind: "email", name: "inbox", script_id: ok, config: { provider: "generic" } })).json;
    const mail = JSON.stringify({ from: "buyer@example.com", subject: "Where is my order?", text: "Hello", message_id: "<q1@example.com>" });
    const id = `msg_${randomBytes(6).toString("hex")}`;
    const ts = Math.floor(Date.now() / 1000);
    const signed = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signWebhook(inbox.signing_secret, id, ts, mail) };
    expect(await post(`/api/v1/email-inbound/${inbox.id}`, mail, signed)).toBe(202);
    expect(await post(`/api/v1/email-inbound/${inbox.id}`, mail, { ...signed, "webhook-signature": "v1,Zm9yZ2Vk" })).toBe(401);

    // Everything ran: 4 slow + 5 ok + 1 failed + 2 mail + 3 hooks + 1 inbound email; inbound counts flushed.
    await waitFor(async () => {
      const s = (await call("GET", `/api/v1/admin/apps/${app.id}/stats`)).json;
      return s.totals.runs === 16 && s.totals.inbound_accepted === 4 && s.totals.inbound_refused === 1 && s.queue_now.depth === 0 && s;
    }, 60_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await sink?.close();
  });

  const figures = (page: Page) => page.locator("figure.chart");
  const caption = (page: Page, title: string) => figures(page).filter({ has: page.getByRole("heading", { name: title, exact: true }) }).locator(".chart-summary");
  const tile = (page: Page, label: string) => page.locator(".stat-tile", { has: page.locator("dt", { hasText: label }) });

  it("draws the app's runs, durations, queue, dead letters, mail and inbound at 1280×800 and 390×844, in the last hour and the last day", async () => {
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
      await page.goto(`${server.url}/apps/shop/overview`);
      await page.getByRole("navigation", { name: "App sections" }).getByRole("link", { name: "Overview", exact: true }).waitFor();
      await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
      await figures(page).first().waitFor();
      expect(await figures(page).count()).toBe(7);
      expect(await tile(page, "Runs").locator(".stat-value").textContent()).toBe("16");
      expect(await tile(page, "Runs").locator(".stat-note").textContent()).toBe("1 failed (6%)");
      expect(await tile(page, "Dead letters").locator(".stat-value").textContent()).toBe("1");
      expect(await tile(page, "Mail sent").locator(".stat-note").textContent()).toBe("1 failed");
      expect(await tile(page, "Inbound accepted").locator(".stat-value").textContent()).toBe("4");
      expect(await tile(page, "Inbound accepted").locator(".stat-note").textContent()).toBe("1 refused");
      expect(await caption(page, "Runs per minute").textContent()).toBe("15 ok, 1 error, 0 timeout, 0 out of memory in the last hour.");
      expect(await caption(page, "Mail per minute").textContent()).toBe("1 sent, 0 captured, 1 failed in the last hour.");
      expect(await caption(page, "Inbound per minute").textContent()).toBe("Email 1 accepted, 1 refused; http triggers 3 accepted, 0 refused in the last hour.");
      expect(await caption(page, "Dead letters per minute").textContent()).toBe("1 event dead-lettered in the last hour (still held).");
      // The slow runs waited behind one another: the sampler saw the queue.
      expect(await caption(page, "Queue depth").textContent()).toMatch(/^At most [1-9]\d* events waiting and [1-9]\d* due in the last hour; 0 waiting now\.$/);
      expect(await caption(page, "Run duration").textContent()).toMatch(/^p50 [\d.]+ m?s and p95 [\d.]+ m?s in the last hour/);
      // Each chart drew on a canvas as wide as its box, with a legend naming its series.
      const canvas = figures(page).first().locator("canvas");
      const box = await figures(page).first().boundingBox();
      const drawn = await canvas.boundingBox();
      expect(drawn!.width).toBeGreaterThan(box!.width - 40);
      expect(await figures(page).first().locator(".u-legend").textContent()).toContain("error");
      await screenshot(page, `${label}-overview-hour`);
      await figures(page).last().scrollIntoViewIfNeeded();
      await screenshot(page, `${label}-overview-hour-lower`);
      if (label === "phone") expect(await horizontalOverflow(page), "the Overview is wider than the phone").toBeLessThanOrEqual(0);

      await page.getByRole("button", { name: "Last day" }).click();
      await page.getByRole("heading", { name: "Runs per 15 minutes" }).waitFor();
      expect(page.url()).toContain("window=24h");
      expect(await page.getByRole("button", { name: "Last day" }).getAttribute("aria-pressed")).toBe("true");
      expect(await caption(page, "Runs per 15 minutes").textContent()).toBe("15 ok, 1 error, 0 timeout, 0 out of memory in the last day.");
      await screenshot(page, `${label}-overview-day`);
      if (label === "phone") expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await context.close();
    }
    expect(problems.list).toEqual([]);
  }, 90_000);

  it("shows every app together from the top bar, with the refusal that named no trigger", async () => {
    const context = await newContext(browser, { width: 1280, height: 800 });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watchPage(page, problems);
    await page.goto(server.link);
    await page.getByRole("heading", { name: "Apps" }).waitFor();
    await page.getByRole("link", { name: "Overview", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Overview of all apps" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/overview");
    await figures(page).first().waitFor();
    expect(await tile(page, "Inbound accepted").locator(".stat-note").textContent()).toBe("2 refused");
    expect(await caption(page, "Inbound per minute").textContent()).toBe("Email 1 accepted, 1 refused; http triggers 3 accepted, 1 refused in the last hour.");
    await screenshot(page, "desktop-overview-instance");
    await context.close();
    expect(problems.list).toEqual([]);
  }, 60_000);
});
