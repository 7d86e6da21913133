import { requireMediaType } from "./content-type.ts";
import { invalidInput } from "./errors.ts";
import type { InboundInput } from "./types.ts";

export type JsonObject = { readonly [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON object body; 415 unless Content-Type is JSON, 400 unless it parses to an object. */
export function readJsonObject(input: InboundInput): JsonObject {
  requireMediaType(input.contentType, ["application/json"]);
  let parsed: unknown;
  try {
    // A UTF-8 byte order mark is not JSON, but some senders write one.
    parsed = JSON.parse(input.body.toString("utf8").replace(/^\uFEFF/, ""));
  } catch (error) {
    throw invalidInput("body is not valid JSON", { field: null, expected: "JSON object" }, error);
  }
  if (!isObject(parsed)) throw invalidInput("body must be a JSON object", { field: null, expected: "JSON object" });
  return parsed;
}

/** A nested object field, or undefined when absent or null. */
export function optionalObject(body: JsonObject, field: string, path = field): JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidInput(`${path} must be an object`, { field: path, expected: "object" });
  return value;
}

/** A string field, or undefined when absent or null; 400 naming the field when it is another type. */
export function optionalString(body: JsonObject, field: string, path = field): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidInput(`${path} must be a string`, { field: path, expected: "string" });
  return value;
}

export function requiredString(body: JsonObject, field: string, path = field): string {
  const value = optionalString(body, field, path);
  if (value === undefined || value.trim() === "") throw invalidInput(`${path} is required`, { field: path, expected: "non-empty string" });
  return value;
}

/** A string or an array of strings (the generic `to`/`cc`), as a list. */
export function stringOrList(body: JsonObject, field: string): string[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => {
      if (typeof item !== "string") throw invalidInput(`${field}[${index}] must be a string`, { field: `${field}[${index}]`, expected: "string" });
      return item;
    });
  }
  throw invalidInput(`${field} must be a string or an array of strings`, { field, expected: "string | string[]" });
}

/** An array of objects (Postmark's `ToFull`, `Headers`, `Attachments`), or [] when absent. */
export function objectList(body: JsonObject, field: string): JsonObject[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidInput(`${field} must be an array`, { field, expected: "array" });
  return value.map((item: unknown, index) => {
    if (!isObject(item)) throw invalidInput(`${field}[${index}] must be an object`, { field: `${field}[${index}]`, expected: "object" });
    return item;
  });
}
