import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context, Hono } from "hono";
import type { AppEnv } from "./env.ts";

/** The repository's dashboard build, found from this package's place in the workspace. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../../dashboard/dist", import.meta.url));

/**
 * The page's only sources are this origin: Vite emits no inline script or
 * style, and the dashboard talks to the API on the same origin.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

// Paths that are never the dashboard's, even when nothing else answers them.
const RESERVED = /^\/(api(\/|$)|healthz$|readyz$|metrics$)/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard: dashboard not built</title></head>
<body><h1>The dashboard is not built</h1>
<p>Build it with <code>pnpm run build:dashboard</code> (<code>npm run dev</code> and <code>npm test</code> build it first), then reload this page.</p>
<p>The API under <code>/api/v1</code> works without it.</p></body></html>
`;

export interface DashboardOptions {
  /** The built dashboard (`index.html` and `assets/`); `DEFAULT_DASHBOARD_DIR` when absent. */
  dir?: string;
}

/**
 * Serves the dashboard's static build at `/`. Hashed files under `/assets/`
 * are cached for a year; `index.html` is revalidated on every load and
 * carries a strict Content-Security-Policy. Any other GET outside the API
 * and the operations endpoints answers `index.html`, so client-side routes
 * survive a reload. Without a build, `/` says how to make one (503).
 *
 * @example
 * dashboardRoutes(app, { dir: "/srv/switchyard/dashboard" });
 */
export function dashboardRoutes(app: Hono<AppEnv>, options: DashboardOptions = {}): void {
  const root = resolve(options.dir ?? DEFAULT_DASHBOARD_DIR);

  // hono answers HEAD with the GET handler, minus the body.
  app.get("*", async (c, next) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return next();
    }
    if (RESERVED.test(path) || path.includes("\0")) return next();

    const file = resolve(root, `.${path}`);
    if (file !== root && !file.startsWith(root + sep)) return next();
    if (path !== "/" && !path.endsWith("/")) {
      const found = await fileAt(file);
      if (found) return file === resolve(root, "index.html") ? sendIndex(c, root) : sendFile(c, file, found, file.startsWith(resolve(root, "assets") + sep));
      // A missing file with an extension is a real 404, not a client-side route.
      if (extname(path)) return next();
    }
    return sendIndex(c, root);
  });
}

async function fileAt(path: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info : null;
  } catch {
    return null;
  }
}

const etagOf = (info: { size: number; mtimeMs: number }) => `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;

async function sendFile(c: Context<AppEnv>, file: string, info: { size: number; mtimeMs: number }, hashed: boolean): Promise<Response> {
  const etag = etagOf(info);
  const headers: Record<string, string> = {
    "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Cache-Control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
    "X-Content-Type-Options": "nosniff",
    ETag: etag,
  };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  return c.body(new Uint8Array(await readFile(file)), 200, headers);
}

async function sendIndex(c: Context<AppEnv>, root: string): Promise<Response> {
  const file = resolve(root, "index.html");
  const info = await fileAt(file);
  const common = {
    "Content-Type": "text/html; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
  };
  if (!info) return c.body(NOT_BUILT, 503, { ...common, "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'" });
  const etag = etagOf(info);
  const headers = { ...common, "Cache-Control": "no-cache", "Content-Security-Policy": DASHBOARD_CSP, ETag: etag };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  return c.body(new Uint8Array(await readFile(file)), 200, headers);
}
