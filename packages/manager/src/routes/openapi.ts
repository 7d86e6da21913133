import { z } from "zod";
import type { RouteRegistry } from "./registry.ts";

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
};

/** The OpenAPI 3.1 document of every registered route, built from the same zod schemas that validate requests. */
export function buildOpenApi(registry: RouteRegistry, version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const spec of registry.specs) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const parameters = [...spec.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    if (spec.query instanceof z.ZodObject) {
      for (const [name, schema] of Object.entries(spec.query.shape)) {
        parameters.push({ name, in: "query", required: false, schema: z.toJSONSchema(schema as z.ZodType, { io: "input", unrepresentable: "any" }) as never });
      }
    }
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      tags: [spec.tag],
      parameters,
      responses: {
        [String(spec.status ?? 200)]: spec.response
          ? { description: "success", content: { "application/json": { schema: z.toJSONSchema(spec.response, { io: "output", unrepresentable: "any" }) } } }
          : { description: "success" },
        default: { description: "error", content: { "application/json": { schema: errorSchema } } },
      },
    };
    const scope = spec.scope ?? spec.serviceScope;
    if (scope) operation["x-required-scope"] = scope;
    if (!spec.public) operation.security = [{ bearer: [] }];
    if (spec.body) {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: z.toJSONSchema(spec.body, { io: "input", unrepresentable: "any" }) } },
      };
    }
    (paths[path] ??= {})[spec.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: { title: "Switchyard", version },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
