import { clearToken, readToken } from "../session.ts";

/** One problem the API found with one field, as its 400 and 422 answers list them. */
export interface Issue {
  path: string;
  message: string;
}

/** A compile diagnostic from a 422 on deploy. */
export interface Diagnostic {
  message: string;
  line: number;
  column: number;
  lineText?: string;
}

/**
 * API.md's error body as a thrown value: `status` and `code` to classify by,
 * `message` to show, `details` as the server sent them.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Field-level issues, whichever of the server's two shapes carried them. */
  get issues(): Issue[] {
    const d = this.details as { issues?: unknown } | unknown[] | undefined;
    const list = Array.isArray(d) ? d : Array.isArray((d as { issues?: unknown })?.issues) ? (d as { issues: unknown[] }).issues : [];
    return list.filter((i): i is Issue => typeof (i as Issue)?.message === "string").map((i) => ({ path: String(i.path ?? ""), message: i.message }));
  }

  get diagnostics(): Diagnostic[] {
    const d = this.details as { diagnostics?: Diagnostic[] } | undefined;
    return Array.isArray(d?.diagnostics) ? d.diagnostics : [];
  }

  /** The issue about one field (`config.schedule`, `name`, ...), if the server named it. */
  issueFor(path: string): string | undefined {
    return this.issues.find((i) => i.path === path || i.path.endsWith(`.${path}`))?.message;
  }
}

/** Listeners told when the token stops working, so the shell can ask for a new one. */
const signedOut = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOut.add(listener);
  return () => signedOut.delete(listener);
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  json?: unknown;
  text?: string;
  token?: string;
}

/**
 * Calls the API on this origin with the signed-in token. Every failure becomes
 * an ApiError whose message can be shown as it is: the server's own words, or
 * ours when the server could not be reached or answered something else.
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = options.token ?? readToken();
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined) {
    headers["content-type"] = "text/plain; charset=utf-8";
    body = options.text;
  }
  let response: Response;
  try {
    response = await fetch(url, { method: options.method ?? (body === undefined ? "GET" : "POST"), headers, body, cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Is Switchyard running?");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed as T;
  const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const failure = new ApiError(
    response.status,
    error?.code ?? "http_" + response.status,
    error?.message ?? `The server answered ${response.status} ${response.statusText || ""}`.trim(),
    error?.details,
  );
  if (response.status === 401 && !options.token) {
    clearToken();
    for (const listener of signedOut) listener();
  }
  throw failure;
}

/** Turns anything thrown into an ApiError, so views need only one shape. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, "client", error instanceof Error ? error.message : String(error));
}
