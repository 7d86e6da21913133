import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chromiumProblem, requireChromium, ensureDashboardBuilt, launchChromium, newContext, screenshot, startDevServer, watchPage, type DevServer, type PageProblems } from "./support/browser.ts";

// The script editor knows the SDK: TypeScript's language service runs in a
// web worker over the declarations the server publishes at
// /api/v1/sdk.d.ts, in headless Chromium against a real `serve --dev`.

requireChromium("the editor types browser test");

// Skipped only off CI without Chromium: requireChromium() above fails the file under CI=true and names the problem otherwise.
describe.skipIf(chromiumProblem !== null)("the script editor's TypeScript", () => {
  let server: DevServer;
  let browser: Browser;
  let page: Page;
  const problems: PageProblems = { list: [] };

  beforeAll(async () => {
    ensureDashboardBuilt();
    [server, browser] = await Promise.all([startDevServer({ pgliteTemplate: inject("pgliteTemplate") }), launchChromium()]);
    const context = await newContext(browser, { width: 1280, height: 800 });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    watchPage(page, problems);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function replaceSource(source: string) {
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(source);
  }

  /** The messages of the error marks in the editor, read from their tooltips. */
  async function errorMessages(): Promise<string[]> {
    const marks = page.locator(".cm-lintRange-error");
    await marks.first().waitFor();
    const messages: string[] = [];
    for (let i = 0; i < (await marks.count()); i++) {
      await marks.nth(i).hover();
      const tooltip = page.locator(".cm-tooltip-lint");
      await tooltip.waitFor();
      messages.push((await tooltip.textContent()) ?? "");
      await page.mouse.move(0, 0);
      await tooltip.waitFor({ state: "detached" });
    }
    return messages;
  }

  it("publishes the declarations at /api/v1/sdk.d.ts without a token, and lists the route in the OpenAPI document", async () => {
    const res = await fetch(`${server.url}/api/v1/sdk.d.ts`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/typescript; charset=utf-8");
    expect(await res.text()).toContain("declare var email: Switchyard.Email;");
    const openapi = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toContain("/api/v1/sdk.d.ts");
  });

  it("marks secrets.get(1) as a type error and completes email.se to send and sendHtml, in TypeScript and in JavaScript", async () => {
    const made = await fetch(`${server.url}/api/v1/admin/apps`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "typed" }),
    });
    expect(made.status).toBe(201);
    await page.goto(server.link);
    await page.goto(`${server.url}/apps/typed/scripts/new`);
    await page.locator('.code-editor[data-types="ready"]').waitFor();

    await page.locator("#script-language").selectOption("ts");
    await page.locator('.code-editor[data-types="ready"]').waitFor();
    await replaceSource("export default async function (event: Switchyard.Event) {\n  const key = await secrets.get(1);\n  return key;\n}\n");
    expect(await errorMessages()).toEqual([expect.stringContaining("Argument of type 'number' is not assignable to parameter of type 'string'.")]);

    // A correct call clears the mark.
    await replaceSource('export default async function () {\n  return await secrets.get("API_KEY");\n}\n');
    await page.locator(".cm-lintRange-error").first().waitFor({ state: "detached" });

    await page.keyboard.insertText("email.se");
    const options = page.locator(".cm-tooltip-autocomplete .cm-completionLabel");
    await options.first().waitFor();
    expect((await options.allTextContents()).sort()).toEqual(["send", "sendHtml"]);
    await screenshot(page, "editor-types-completion");
    await page.keyboard.press("Enter");
    expect(await page.locator(".cm-content").textContent()).toContain("email.send");

    // JavaScript is checked as well (checkJs): the same mistake is marked.
    await page.locator("#script-language").selectOption("js");
    await replaceSource("export default async function () {\n  return secrets.get(1);\n}\n");
    expect(await errorMessages()).toEqual([expect.stringContaining("Argument of type 'number' is not assignable to parameter of type 'string'.")]);
    await screenshot(page, "editor-types-error");

    expect(problems.list).toEqual([]);
  });
});
