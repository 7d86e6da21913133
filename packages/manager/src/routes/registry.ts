import type { Principal, TokenScope } from "@switchyard/core";
import { requireScope } from "@switchyard/core";
import { refuseUnstorableBody, refuseUnstorableText, refuseUnstorableUrl } from "./storable-input.ts";
import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../env.ts";
import { errorBody, zodDetails } from "../http-errors.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";
const HAS_BODY: ReadonlySet<Method> = new Set(["post", "put", "patch"]);

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: Method;
  /** Hono path, e.g. `/api/v1/admin/apps/:appId`. */
  path: string;
  summary: string;
  tag: string;
  /** Scope the token needs, checked before the handler; omit for routes that check it themselves. */
  scope?: TokenScope;
  /** Scope the service checks itself (so it can audit a denial); shown in the OpenAPI document only. */
  serviceScope?: TokenScope;
  /** Public routes take no bearer token. */
  public?: boolean;
  body?: B;
  query?: Q;
  /** Success status for the OpenAPI document. */
  status?: number;
  /** Shape of the success answer, for the OpenAPI document only (answers are not validated against it). */
  response?: z.ZodType;
}

export interface RouteInput<B, Q> {
  body: B;
  query: Q;
  principal: Principal;
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

/**
 * Declares routes once: the declaration validates input (400 with zod issues),
 * checks the scope (403), and feeds the OpenAPI document, so the document can
 * never drift from what the server does. Input PostgreSQL could not store
 * faithfully (U+0000, lone surrogates, nesting past 100 levels, `1e400`) is
 * refused here with a 400 naming its path, before zod (whose recursive walk a
 * 10,000-deep body would overflow) and before any route stores it.
 */
export class RouteRegistry {
  readonly specs: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>[] = [];

  constructor(private readonly app: Hono<AppEnv>) {}

  add<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: (c: Context<AppEnv>, input: RouteInput<Infer<B>, Infer<Q>>) => Promise<Response> | Response,
  ): void {
    this.specs.push(spec);
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const principal = c.get("principal");
      if (spec.scope) requireScope(principal, spec.scope);
      refuseUnstorableUrl(c.req.param(), c.req.queries());
      let body: unknown = undefined;
      if (spec.body) {
        const raw = await readJson(c);
        if (!raw.ok) return c.json(errorBody("invalid_input", raw.message), 400);
        refuseUnstorableBody(raw.value);
        const parsed = spec.body.safeParse(raw.value);
        if (!parsed.success) {
          return c.json(errorBody("invalid_input", "the request body is not valid", zodDetails(parsed.error)), 400);
        }
        body = parsed.data;
      } else if (!spec.public && HAS_BODY.has(spec.method)) {
        // An admin route that reads its own body (a dotenv import is text):
        // hono keeps the text, so the handler reads the same bytes after this.
        refuseUnstorableText(await c.req.text());
      }
      let query: unknown = undefined;
      if (spec.query) {
        const parsed = spec.query.safeParse(c.req.query());
        if (!parsed.success) {
          return c.json(errorBody("invalid_input", "the query string is not valid", zodDetails(parsed.error)), 400);
        }
        query = parsed.data;
      }
      return handler(c, { body: body as Infer<B>, query: query as Infer<Q>, principal });
    });
  }
}

async function readJson(c: Context): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    return { ok: false, message: "the request body must be JSON (Content-Type: application/json)" };
  }
  const text = await c.req.text();
  try {
    return { ok: true, value: text.length === 0 ? {} : JSON.parse(text) };
  } catch {
    return { ok: false, message: "the request body is not valid JSON" };
  }
}
