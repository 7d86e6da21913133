import { TooLargeError, ValidationError } from "../errors.ts";
import type { ScopeRef } from "../data-keys.ts";
import { bindingAad } from "./binding.ts";

/** Secret names: environment-variable style, so they import from and export to dotenv unchanged. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ValidationError(
      `${JSON.stringify(name.slice(0, 140))} is not a valid secret name: use letters, digits and _, not starting with a digit, at most 128 characters`,
      { name: name.slice(0, 140), pattern: SECRET_NAME.source },
    );
  }
}

/** A secret value is any JSON; stored as its JSON text, capped in bytes. */
export function encodeValue(value: unknown, maxBytes: number): Buffer {
  if (value === undefined) throw new ValidationError("a secret needs a value", { field: "value" });
  const json = Buffer.from(JSON.stringify(value), "utf8");
  if (json.length > maxBytes) throw new TooLargeError("the secret value", maxBytes, json.length);
  return json;
}

export function decodeValue(json: Buffer): unknown {
  return JSON.parse(json.toString("utf8"));
}

/**
 * Associated data of a sealed secret value: the value opens only as that
 * version of that name in that scope, with that host binding. A ciphertext
 * copied to another app, name, scope or version fails to open, and so does a
 * bound one whose stored binding was stripped or changed. An unbound value's
 * associated data is what it was before bindings existed.
 */
export function secretAad(ref: ScopeRef, name: string, version: number, boundHosts: readonly string[] | null = null): string {
  return `switchyard/secret/v1|${ref.scope}|${ref.scopeId}|${name}|${version}${bindingAad(boundHosts)}`;
}

/** The preview of every host-bound value: a bound value is out of reach without `secrets:reveal`, so not one character is shown. */
export const BOUND_PREVIEW = "(bound) ••••••••";

/**
 * A masked preview for metadata views: nothing at all of values shorter than
 * 12 characters, else the first 4 characters; nothing at all of a host-bound
 * value (BOUND_PREVIEW, whatever its length).
 */
export function maskedPreview(value: unknown, bound = false): string {
  if (bound) return BOUND_PREVIEW;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const chars = [...text];
  return chars.length < 12 ? "••••••••" : `${chars.slice(0, 4).join("")}••••••••`;
}
