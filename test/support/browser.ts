import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { finished, listeningUrl, startCli } from "./cli.ts";
import { waitFor } from "./wait.ts";

/** Debian's Chromium; `.ci/run` installs it when missing. playwright-core downloads no browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";
export const chromiumProblem = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium)`;

/**
 * Called at the top of a browser test file: without Chromium, fails the
 * file under CI=true and warns loudly otherwise (the file's tests then skip
 * on `chromiumProblem`).
 */
export function requireChromium(what: string): void {
  if (!chromiumProblem) return;
  if (process.env.CI === "true") throw new Error(`browser tests need Chromium: ${chromiumProblem}`);
  console.warn(`\n*** SKIPPING ${what}: ${chromiumProblem} ***\n`);
}

const root = fileURLToPath(new URL("../..", import.meta.url));
const dashboard = join(root, "dashboard");
export const screenshotDir = join(root, "artifacts", "screenshots");

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

function newest(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/**
 * `npm test` builds the dashboard before the tests; a lone `vitest run`
 * may find no build or an old one, so it builds when a source is newer.
 */
export function ensureDashboardBuilt(): void {
  const index = join(dashboard, "dist", "index.html");
  const sources = Math.max(newest(join(dashboard, "src")), newest(join(dashboard, "index.html")), newest(join(dashboard, "vite.config.ts")));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const built = spawnSync(process.execPath, [join(dashboard, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
    cwd: dashboard,
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`dashboard build failed:\n${built.stdout}\n${built.stderr}`);
}

export interface DevServer {
  url: string;
  token: string;
  /** The link the start prints that signs the dashboard in (`{url}/#token={token}`). */
  link: string;
  /** One admin API call with the bootstrap token: the status and the JSON answer. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/**
 * `switchyard serve --dev` on a fresh data folder and a free port, with the
 * bootstrap token it prints. Given the suite's migrated PGlite template (a
 * tar of a data folder), the folder starts from it: the server then skips
 * initdb, which takes tens of seconds on a busy two-core machine.
 */
export async function startDevServer(options: { pgliteTemplate?: string; env?: Record<string, string> } = {}): Promise<DevServer> {
  const dataDir = join(await mkdtemp(join(tmpdir(), "sy-dashboard-")), "data");
  if (options.pgliteTemplate) {
    const pgdata = join(dataDir, "pgdata");
    mkdirSync(pgdata, { recursive: true });
    const untar = spawnSync("tar", ["-xf", options.pgliteTemplate, "-C", pgdata], { encoding: "utf8" });
    if (untar.status !== 0) throw new Error(`cannot unpack the PGlite template: ${untar.stderr}`);
  }
  const child = startCli(["serve", "--dev", "--port", "0"], { SWITCHYARD_DATA_DIR: dataDir, ...options.env });
  // A start that fails half way must not leave its process behind.
  const abandon = (error: unknown) => {
    child.kill("SIGKILL");
    throw error;
  };
  const url = await listeningUrl(child).catch(abandon);
  // The token and the link are printed just after the URL; the pipe may deliver them a moment later, and in pieces.
  const printed = await waitFor(async () => {
    const token = /SWITCHYARD_TOKEN=(sy_\S+)\r?\n/.exec(child.output.stdout)?.[1];
    const link = /Dashboard, signed in: (\S+)\r?\n/.exec(child.output.stdout)?.[1];
    return token && link ? { token, link } : null;
  }, 10_000).catch(() => abandon(new Error(`no bootstrap token and dashboard link printed:\n${child.output.stdout}`)));
  const { token, link } = printed;
  return {
    url,
    token,
    link,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    },
    async stop() {
      child.kill("SIGTERM");
      await finished(child, 20_000);
      await rm(dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/**
 * Everything a page reported that a test should fail on: uncaught errors,
 * console errors (a Content-Security-Policy refusal is one) and failed
 * same-origin requests other than the API answers a test provokes.
 */
export interface PageProblems {
  list: string[];
}

export function watchPage(page: Page, problems: PageProblems): void {
  page.on("pageerror", (error) => problems.list.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    // The browser logs every non-2xx fetch; the API's own answers are expected in error tests.
    if (/Failed to load resource: the server responded with a status of (4\d\d|503)/.test(text) && /\/api\//.test(message.location().url || "/api/")) return;
    problems.list.push(`console: ${text}`);
  });
}

export async function newContext(browser: Browser, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return browser.newContext({ viewport, deviceScaleFactor: 1, reducedMotion: "reduce", locale: "en-US", timezoneId: "UTC" });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** How far the page is wider than the window (0: it fits, as it must at 390 px). */
export function horizontalOverflow(page: Page): Promise<number> {
  // A string: this program has no DOM types.
  return page.evaluate<number>(`document.documentElement.scrollWidth - window.innerWidth`);
}
