import { jsonValue } from "./schemas.ts";

/** Where the first `"__proto__"` key of a parsed JSON value is, or null when it has none. */
function protoKeyPath(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = protoKeyPath(item, [...path, index]);
      if (found) return found;
    }
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  // JSON.parse makes "__proto__" an own key, so Object.keys sees it.
  for (const key of Object.keys(value)) {
    if (key === "__proto__") return [...path, key];
    const found = protoKeyPath((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return null;
}

/**
 * A JSON object exactly as JSON.parse made it (schemas.ts's `jsonValue`), for
 * settings objects a service validates itself (a trigger's `config` and
 * `retry`). zod's `z.record()` and `z.json()` rebuild objects by assignment
 * and silently drop a `"__proto__"` key; here such a key is refused with a
 * 400 naming its path, at any depth: no setting has that name, and whatever
 * later copies the object by assignment could not keep it. The registry has
 * already bounded the depth (100 levels), so the walk is bounded too.
 *
 * @example
 * const body = z.strictObject({ config: jsonObject.optional() });
 */
export const jsonObject = jsonValue
  .refine((value) => typeof value === "object" && value !== null && !Array.isArray(value), "expected a JSON object")
  .superRefine((value, ctx) => {
    const path = protoKeyPath(value);
    if (path) ctx.addIssue({ code: "custom", path, message: 'a "__proto__" key cannot be stored faithfully; remove it' });
  });
