import type { Browser, BrowserContext, Page } from "playwright-core";
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

// The dashboard in headless Chromium against a real `switchyard serve --dev`:
// the end-to-end flow, then every tab photographed at desktop and
// phone widths. Tests run in order and build on each other's data.

requireChromium("the dashboard browser tests");

const SECRET_VALUE = "sk_live_7f3a9c2e1b55d0";

const GOOD_SCRIPT = `// Replies to inbound mail; a manual run only checks the key.
export default async function (event, ctx) {
  const key = await secrets.get("API_KEY");
  console.log("using key", key, "for", event.kind);
  if (event.kind === "email") {
    const sent = await email.send({ to: "ops@example.com", subject: "Re: " + event.email.subject, text: "Handled mail from " + event.email.from });
    return { replied: sent.message_id };
  }
  await fetch("http://169.254.169.254/latest/meta-data/?key=" + key).catch((e) => console.log("metadata", e.code));
  return { ok: true, attempt: ctx.run.attempt };
}
`;
const BROKEN_SYNTAX = `export default async function (event) {
  const key = await secrets.get("API_KEY");
  if (key { return 1; }
}
`;
const FAILING_SCRIPT = `export default async function (event) {
  const key = await secrets.get("API_KEY");
  throw new Error("broken on purpose while holding " + key);
}
`;

describe.skipIf(chromiumProblem !== null)("the dashboard in a browser", () => {
  let server: DevServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: PageProblems = { list: [] };
  const ids: { scriptId?: string; runId?: string; signingSecret?: string } = {};

  beforeAll(async () => {
    ensureDashboardBuilt();
    [server, browser] = await Promise.all([startDevServer({ pgliteTemplate: inject("pgliteTemplate") }), launchChromium()]);
    context = await newContext(browser, { width: 1280, height: 800 });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watchPage(page, problems);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Nothing on the page still says it is loading. */
  // Page code reaches the DOM through globalThis: the test's TypeScript program has no DOM types.
  // (A function, not a string: the page's CSP forbids eval, which a string would need here.)
  const settled = (p: Page) =>
    p.waitForFunction(() => {
      const doc = (globalThis as any).document;
      return !doc.querySelector('[aria-busy="true"]') && !/Loading…/.test(doc.body.innerText);
    });
  const tab = (name: string) => page.getByRole("navigation", { name: "App sections" }).getByRole("link", { name, exact: true }).click();
  const text = async (selector: string) => (await page.locator(selector).first().textContent()) ?? "";

  async function setEditor(source: string) {
    const editor = page.locator(".cm-content");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(source);
  }

  async function deploy(source: string, version: number) {
    await setEditor(source);
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await page.getByText(`Deployed on-mail v${version}.`).waitFor();
  }

  it("signs in from the printed link, and takes the token out of the address bar", async () => {
    // A wrong token is refused in words, and the field is emptied.
    await page.goto(server.url);
    await page.getByLabel("API token").fill("sy_not_a_real_token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token is not valid (or was revoked).").waitFor();
    expect(await page.getByLabel("API token").inputValue()).toBe("");

    expect(server.link).toBe(`${server.url}/#token=${server.token}`);
    await page.goto(server.link);
    await page.getByRole("heading", { name: "Apps" }).waitFor();
    expect(page.url()).toBe(`${server.url}/`);
    expect(await page.locator("header .whoami").textContent()).toBe("Token scopes: admin");
    expect(await page.evaluate(`sessionStorage.getItem("switchyard.token")`)).toBe(server.token);
    expect(await page.content()).not.toContain(server.token);
  });

  it("creates an app, sets a secret, lists it without its value, reveals it until hidden, and imports a .env", async () => {
    await page.locator("#app-name").fill("billing");
    await page.getByRole("button", { name: "Create app" }).click();
    await page.waitForURL(/\/apps\/billing\/secrets$/);

    // An API error shows next to the field that caused it.
    await page.locator("#secret-name").fill("1bad");
    await page.locator("#secret-value").fill("x");
    await page.getByRole("button", { name: "Save secret" }).click();
    expect(await page.locator(".field:has(#secret-name) .field-error").textContent()).toMatch(/not a valid secret name/);

    await page.locator("#secret-name").fill("API_KEY");
    await page.locator("#secret-value").fill(SECRET_VALUE);
    await page.getByRole("button", { name: "Save secret" }).click();
    await page.getByText("API_KEY saved as version 1.").waitFor();
    const row = page.getByRole("table", { name: "Secrets" }).getByRole("row").filter({ hasText: "API_KEY" });
    expect(await row.textContent()).toMatch(/API_KEY.*this app.*v1/);
    expect(await page.locator("#secret-value").inputValue()).toBe("");
    expect(await page.content()).not.toContain(SECRET_VALUE);

    await row.getByRole("button", { name: "Details" }).click();
    await page.getByRole("button", { name: "Reveal value" }).click();
    expect(await page.getByLabel("Value of API_KEY").textContent()).toBe(SECRET_VALUE);
    await page.getByRole("button", { name: "Hide" }).click();
    await page.getByRole("button", { name: "Reveal value" }).waitFor();
    expect(await page.content()).not.toContain(SECRET_VALUE);
    await page.getByRole("table", { name: "Versions of API_KEY" }).locator('td[data-label="Version"]', { hasText: /^v1(\s|$)/ }).waitFor();

    await page.locator("#import-text").fill(`API_KEY=${SECRET_VALUE}\nREGION=eu-west-1\n`);
    await page.getByRole("button", { name: "Preview import" }).click();
    await page.getByText("1 to create, 0 to update, 1 unchanged.").waitFor();
    await page.getByRole("button", { name: "Import 1 change" }).click();
    await page.getByText("Imported: 1 created, 0 updated, 1 unchanged.").waitFor();
    expect(await page.locator("#import-text").inputValue()).toBe("");
    await page.getByRole("table", { name: "Secrets" }).getByText("REGION").waitFor();
    expect(await page.content()).not.toContain(SECRET_VALUE);

    // The reveal is audited, and the audit filters by action.
    await tab("Audit");
    await page.locator("#audit-action").fill("secret.reveal");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.getByRole("table", { name: "Audit rows" }).locator("tbody tr");
    await page.waitForURL(/action=secret\.reveal/);
    await rows.first().getByText("secret.reveal").waitFor();
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/API_KEY.*token/);
  });

  it("offers no reveal to a token without secrets:reveal, and says why", async () => {
    const asAdmin = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
    const billing = (await (await fetch(`${server.url}/api/v1/admin/apps/billing`, { headers: asAdmin })).json()) as { workspace_id: string };
    const created = await fetch(`${server.url}/api/v1/admin/tokens`, {
      method: "POST",
      headers: asAdmin,
      body: JSON.stringify({ name: "reader", scopes: ["secrets:read", "scripts:read"], workspace_id: billing.workspace_id }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };

    const ctx = await newContext(browser, { width: 1280, height: 800 });
    const reader = await ctx.newPage();
    reader.setDefaultTimeout(20_000);
    watchPage(reader, problems);
    await reader.goto(`${server.url}/#token=${token}`);
    await reader.getByRole("heading", { name: "Apps" }).waitFor();
    expect(await reader.locator("header .whoami").textContent()).toBe("Token scopes: scripts:read, secrets:read (one workspace)");
    await reader.goto(`${server.url}/apps/billing/secrets`);
    await reader.getByRole("table", { name: "Secrets" }).getByRole("row").filter({ hasText: "API_KEY" }).getByRole("button", { name: "Details" }).click();
    await reader.getByRole("note").getByText("This token may not reveal values (it lacks the secrets:reveal scope).").waitFor();
    expect(await reader.getByRole("button", { name: "Reveal value" }).count()).toBe(0);
    await ctx.close();
  });

  it("deploys a script, marks a compile error at its line, invokes it and shows the run with the secret masked", async () => {
    await tab("Scripts");
    await page.getByRole("link", { name: "New script" }).click();
    await page.locator("#script-name").fill("on-mail");
    await setEditor(BROKEN_SYNTAX);
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    const errors = page.getByRole("alert", { name: "Compile errors" });
    expect(await errors.textContent()).toMatch(/Line 3, column \d+: Expected/);
    expect(await page.locator(".cm-lintRange-error").count()).toBeGreaterThan(0);

    await deploy(GOOD_SCRIPT, 1);
    ids.scriptId = /\/scripts\/(scr_\w+)/.exec(page.url())?.[1];
    expect(ids.scriptId).toBeDefined();

    await page.locator("#invoke-payload").fill('{"hello": "dashboard"}');
    await page.getByRole("button", { name: "Invoke v1" }).click();
    const run = page.locator(".event-runs .run-detail");
    await run.locator(".badge-ok").waitFor({ timeout: 20_000 });
    const logs = (await run.getByLabel("Logs").textContent()) ?? "";
    expect(logs).toContain("using key [secret:API_KEY] for manual");
    expect(await run.getByLabel("Result").textContent()).toContain('"attempt": 1');
    // The refused fetch is listed (no query) with its outcome.
    const fetched = run.getByRole("table", { name: "Subrequests" }).getByRole("row").filter({ hasText: "169.254.169.254" });
    expect(await fetched.textContent()).toMatch(/GET\s*http:\/\/169\.254\.169\.254\/latest\/meta-data\/\s*—.*egress_denied/);
    expect(await page.content()).not.toContain(SECRET_VALUE);
  }, 90_000);

  it("dead-letters a broken script's http events after their retries, then replays every match once it is fixed", async () => {
    await tab("Triggers");
    await page.getByRole("button", { name: "New trigger" }).click();
    await page.getByLabel("HTTP webhook").check();
    await page.locator("#trigger-name").fill("hook");
    await page.locator("#trigger-attempts").fill("2");
    await page.locator("#trigger-backoff").selectOption("fixed");
    await page.locator("#trigger-base-ms").fill("50");
    await page.getByRole("button", { name: "Create trigger" }).click();
    const hookUrl = (await page.getByRole("listitem", { name: "Trigger hook" }).locator(".endpoint-value").textContent()) ?? "";
    expect(hookUrl).toMatch(new RegExp(`^${server.url}/api/v1/hooks/trg_\\w+$`));

    await page.goto(`${server.url}/apps/billing/scripts/${ids.scriptId}`);
    await deploy(FAILING_SCRIPT, 2);
    const fired = await fetch(hookUrl, { method: "POST", headers: { "content-type": "application/json" }, body: '{"order": 42}' });
    expect(fired.status).toBe(202);

    await tab("Dead letters");
    const letter = page.getByRole("table", { name: "Dead letters" }).getByRole("row").filter({ hasText: "broken on purpose" });
    await letter.waitFor({ timeout: 20_000 });
    // The failed attempts' error is masked like their logs.
    expect(await letter.textContent()).toContain("[secret:API_KEY]");
    await letter.getByRole("link").click();
    expect(await page.getByLabel("Original event").textContent()).toContain('"order": 42');
    expect(await page.locator(".facts").textContent()).toMatch(/Attempts\s*2/);

    await page.goto(`${server.url}/apps/billing/scripts/${ids.scriptId}`);
    await deploy(GOOD_SCRIPT, 3);
    await tab("Dead letters");
    await page.locator("#dl-trigger").selectOption({ label: "hook (http)" });
    await page.getByRole("button", { name: "Replay all matching" }).click();
    await page.getByRole("button", { name: "Yes, replay all matching" }).click();
    await page.getByText("Replayed 1 dead letter.").waitFor();
    await page.getByText("No dead letters match. Good.").waitFor();

    await tab("Runs");
    await page.locator("#runs-status").selectOption("ok");
    await page.locator("#runs-trigger").selectOption({ label: "hook (http)" });
    const replayed = page.getByRole("table", { name: "Runs" }).getByRole("row").filter({ hasText: "hook" });
    await replayed.first().waitFor({ timeout: 20_000 });
    await replayed.first().getByRole("link").click();
    ids.runId = /\/runs\/(run_\w+)/.exec(page.url())?.[1];
    expect(await page.getByLabel("Logs").textContent()).toContain("using key [secret:API_KEY] for http");
  }, 90_000);

  it("creates a signed email trigger, sends the test email, and follows it to a masked run, the mail log, a dead letter and its replay", async () => {

    await tab("Triggers");
    await page.getByRole("button", { name: "New trigger" }).click();
    await page.getByLabel("Email", { exact: true }).check();
    await page.locator("#trigger-name").fill("inbound");
    await page.locator("#trigger-provider").selectOption("generic");
    expect(await page.getByLabel(/Require signed requests/).isChecked()).toBe(true);
    await page.getByText("Expected request from Generic JSON").waitFor();
    expect(await page.getByLabel("Sample generic request").textContent()).toContain("webhook-signature: v1,");
    await page.locator("#trigger-attempts").fill("2");
    await page.locator("#trigger-backoff").selectOption("fixed");
    await page.locator("#trigger-base-ms").fill("100");
    await page.getByRole("button", { name: "Create trigger" }).click();

    const item = page.getByRole("listitem", { name: "Trigger inbound" });
    const once = item.getByRole("alert", { name: "Signing secret" });
    const secret = ((await once.locator(".secret-value").textContent()) ?? "").trim();
    expect(secret).toMatch(/^whsec_/);
    ids.signingSecret = secret;
    await screenshot(page, "desktop-email-trigger-created");
    await once.getByRole("button", { name: "Copy" }).click();
    expect(await page.evaluate(`navigator.clipboard.readText()`)).toBe(secret);
    expect(await item.locator(".endpoint-value").first().textContent()).toMatch(new RegExp(`^${server.url}/api/v1/email-inbound/trg_\\w+$`));
    await once.getByRole("button", { name: "I have copied it: hide" }).click();
    expect(await page.content()).not.toContain(secret);

    // The secret is still in memory for this visit: the test email is signed with it.
    await item.getByRole("button", { name: "Send test email" }).click();
    await item.getByText("Accepted.").waitFor();
    await item.getByRole("link", { name: "see its runs" }).click();
    const emailRun = page.getByRole("table", { name: "Runs" }).getByRole("row").filter({ has: page.locator(".badge-ok") });
    await emailRun.first().waitFor({ timeout: 20_000 });
    await emailRun.first().getByRole("link").click();
    expect(await page.getByLabel("Logs").textContent()).toContain("using key [secret:API_KEY] for email");
    expect(await page.content()).not.toContain(SECRET_VALUE);

    await tab("Mail");
    const mail = page.getByRole("table", { name: "Mail" }).getByRole("row").filter({ hasText: "Re: Test from the Switchyard dashboard" });
    await mail.waitFor();
    expect(await mail.textContent()).toMatch(/captured.*ops@example\.com/);
    await mail.getByRole("link").click();
    expect(await text("pre.mail-body")).toContain("Handled mail from alice@example.com");

    // Broken: the email's retries end in a dead letter. The secret is gone from
    // memory after leaving the page, so the test is signed with a pasted one.
    await page.goto(`${server.url}/apps/billing/scripts/${ids.scriptId}`);
    await deploy(FAILING_SCRIPT, 4);
    await tab("Triggers");
    await item.getByRole("button", { name: "Details" }).click();
    const secretField = item.getByLabel("Signing secret");
    await secretField.fill("whsec_" + Buffer.alloc(32, 7).toString("base64"));
    await item.getByRole("button", { name: "Send test email" }).click();
    expect(await item.locator(".send-test .error").textContent()).toMatch(/\S/);
    expect(await secretField.inputValue()).toBe("");
    await secretField.fill(secret);
    await item.getByRole("button", { name: "Send test email" }).click();
    await item.getByText("Accepted.").waitFor();

    await tab("Dead letters");
    const letter = page.getByRole("table", { name: "Dead letters" }).getByRole("row").filter({ hasText: "email" });
    await letter.waitFor({ timeout: 20_000 });
    await letter.getByRole("link").click();
    expect(await page.getByLabel("Original event").textContent()).toContain('"subject": "Test from the Switchyard dashboard"');
    const letterUrl = page.url();

    await page.goto(`${server.url}/apps/billing/scripts/${ids.scriptId}`);
    await deploy(GOOD_SCRIPT, 5);
    await page.goto(letterUrl);
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await page.getByText(/Replayed as event evt_/).waitFor();
    await page.getByRole("link", { name: "See its runs" }).click();
    await page.getByRole("table", { name: "Runs" }).getByRole("row").filter({ has: page.locator(".badge-ok") }).first().waitFor({ timeout: 20_000 });
  }, 90_000);

  it("shows every tab at 1280×800 and 390×844, fitting the narrow window, without a page error or CSP refusal", async () => {
    // [file name, path, the page's heading]
    const tabs: [string, string, string][] = [
      ["apps", "/", "Apps"],
      ["secrets", "/apps/billing/secrets", "Secrets"],
      ["scripts", "/apps/billing/scripts", "Scripts"],
      ["script-editor", `/apps/billing/scripts/${ids.scriptId}`, "on-mail"],
      ["triggers", "/apps/billing/triggers", "Triggers"],
      ["trigger-new", "/apps/billing/triggers", "Triggers"],
      ["runs", "/apps/billing/runs", "Runs"],
      ["run", `/apps/billing/runs/${ids.runId}`, "Run"],
      ["dead-letters", "/apps/billing/dead-letters", "Dead letters"],
      ["mail", "/apps/billing/mail", "Mail"],
      ["audit", "/apps/billing/audit", "Audit"],
    ];
    for (const [label, viewport] of [
      ["desktop", { width: 1280, height: 800 }],
      ["phone", { width: 390, height: 844 }],
    ] as const) {
      const ctx = await newContext(browser, viewport);
      const shot = await ctx.newPage();
      shot.setDefaultTimeout(20_000);
      watchPage(shot, problems);
      await shot.goto(server.url);
      await shot.getByLabel("API token").waitFor();
      await screenshot(shot, `${label}-sign-in`);
      await shot.goto(server.link);
      await shot.getByRole("heading", { name: "Apps" }).waitFor();
      for (const [name, path, heading] of tabs) {
        // Client-side navigation, as a click would do: no page load per tab.
        await shot.evaluate(`history.pushState(null, "", ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent("popstate"))`);
        await shot.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
        await settled(shot);
        if (name === "secrets") await shot.getByRole("table", { name: "Secrets" }).getByRole("row").filter({ hasText: "API_KEY" }).getByRole("button", { name: "Details" }).click();
        if (name === "triggers") await shot.getByRole("listitem", { name: "Trigger inbound" }).getByRole("button", { name: "Details" }).click();
        if (name === "trigger-new") await shot.getByRole("button", { name: "New trigger" }).click();
        await settled(shot);
        await screenshot(shot, `${label}-${name}`);
        if (label === "phone") expect(await horizontalOverflow(shot), `${name} is wider than the phone`).toBeLessThanOrEqual(0);
      }
      await ctx.close();
    }
    expect(problems.list).toEqual([]);
  }, 90_000);
});
