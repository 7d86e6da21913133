import { z } from "zod";
import { StartupError } from "../startup-error.ts";

/** Where the CLI finds a running service when SWITCHYARD_URL is unset. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/** A request gets this long for an answer; a hung service must not hang a script forever. */
const TIMEOUT_MS = 60_000;

const schema = z.object({
  SWITCHYARD_URL: z
    .string()
    .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), "must be an http:// or https:// URL")
    // fetch refuses URLs with user:password, and a password there would end up in messages.
    .refine((v) => !URL.canParse(v) || (new URL(v).username === "" && new URL(v).password === ""), "must not contain credentials (put the token in SWITCHYARD_TOKEN)")
    .default(DEFAULT_URL),
  SWITCHYARD_TOKEN: z
    .string({ error: "is not set: give an admin API token (the bootstrap token printed at first start, or one made with POST /api/v1/admin/tokens)" })
    .regex(/^\S+$/, "must be one word (no spaces or line breaks)"),
});

/** An error answer of the admin API (API.md's error body), or an answer that is not one of ours. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The service could not be reached at all (refused, DNS, TLS, timeout). */
export class UnreachableError extends Error {
  override name = "UnreachableError";
  readonly code = "unreachable";
  constructor(url: string, cause: unknown) {
    super(`cannot reach Switchyard at ${url}: ${reason(cause)}`, { cause });
  }
}

/** What a request sends: a JSON body, a text body, or nothing; and query parameters. */
export interface RequestOptions {
  json?: unknown;
  text?: string;
  query?: Record<string, string>;
}

/** A thin client for the admin API; answers are parsed JSON (null for 204). */
export interface AdminClient {
  /** The service's base URL (never the token), for messages. */
  readonly url: string;
  request(method: string, path: string, options?: RequestOptions): Promise<unknown>;
  /**
   * GETs a long-lived answer (Server-Sent Events) and hands back the open
   * response, without the request timeout; an error answer throws ApiError
   * as `request` does. `signal` ends it.
   */
  openStream(path: string, options: { headers?: Record<string, string>; query?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;
}

/**
 * Builds a client from SWITCHYARD_URL and SWITCHYARD_TOKEN. A missing or bad
 * variable is a StartupError (exit 2) naming it; the token's value is never shown.
 *
 * @example
 * const client = adminClientFromEnv(process.env);
 * await client.request("GET", "/api/v1/admin/apps");
 */
export function adminClientFromEnv(env: Record<string, string | undefined>): AdminClient {
  // An empty variable counts as unset, as parseConfig does.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? "environment")} ${issue.message}`);
    throw new StartupError(lines.join("\n"), 2);
  }
  return createAdminClient(parsed.data.SWITCHYARD_URL, parsed.data.SWITCHYARD_TOKEN);
}

/** A client for the service at `baseUrl`, authenticating with `token`. */
export function createAdminClient(baseUrl: string, token: string): AdminClient {
  const url = baseUrl.replace(/\/+$/, "");
  return {
    url,
    async request(method, path, options = {}) {
      const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : "";
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
      let body: string | undefined;
      if (options.json !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(options.json);
      } else if (options.text !== undefined) {
        headers["content-type"] = "text/plain; charset=utf-8";
        body = options.text;
      }
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${url}${path}${query}`, { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
        text = await res.text();
      } catch (error) {
        throw new UnreachableError(url, error);
      }
      const json = parseJson(text);
      if (res.ok) {
        if (text === "") return null;
        if (json === undefined) throw new ApiError(res.status, "bad_answer", `the answer from ${url} is not JSON (HTTP ${res.status}); is SWITCHYARD_URL a Switchyard?`);
        return json;
      }
      const error = errorEnvelope(json);
      if (error) throw new ApiError(res.status, error.code, error.message, error.details);
      throw new ApiError(res.status, `http_${res.status}`, `HTTP ${res.status} ${res.statusText} from ${url}; is SWITCHYARD_URL a Switchyard?`);
    },
    async openStream(path, options) {
      const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : "";
      const headers = { authorization: `Bearer ${token}`, accept: "text/event-stream", ...options.headers };
      let res: Response;
      try {
        res = await fetch(`${url}${path}${query}`, { headers, signal: options.signal ?? null });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new UnreachableError(url, error);
      }
      if (res.ok && res.body) return res;
      const error = errorEnvelope(parseJson(await res.text().catch(() => "")));
      if (error) throw new ApiError(res.status, error.code, error.message, error.details);
      throw new ApiError(res.status, `http_${res.status}`, `HTTP ${res.status} ${res.statusText} from ${url}; is SWITCHYARD_URL a Switchyard?`);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function errorEnvelope(json: unknown): { code: string; message: string; details?: unknown } | null {
  const error = (json as { error?: unknown } | undefined)?.error;
  if (typeof error !== "object" || error === null) return null;
  const { code, message, details } = error as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string") return null;
  return { code, message, details };
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND) is in its cause. */
function reason(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
