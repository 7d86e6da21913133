import { describe, expect, it } from "vitest";
import { assertSecretName, BOUND_PREVIEW, encodeValue, maskedPreview, secretAad } from "./values.ts";

describe("secret values", () => {
  it("masks values shorter than 12 characters completely and shows 4 characters of longer ones", () => {
    expect(maskedPreview("12345678901")).toBe("••••••••");
    expect(maskedPreview("123456789012")).toBe("1234••••••••");
    expect(maskedPreview({ k: "a long object value" })).toBe('{"k"••••••••');
    expect(maskedPreview("ééééééééééé")).toBe("••••••••");
  });

  it("shows not one character of a host-bound value, whatever its length", () => {
    expect(maskedPreview("sk_live_0123456789abcdef", true)).toBe(BOUND_PREVIEW);
    expect(maskedPreview("short", true)).toBe(BOUND_PREVIEW);
    expect(BOUND_PREVIEW).not.toMatch(/sk_l/);
  });

  it("validates names as environment variables of at most 128 characters", () => {
    for (const ok of ["A", "_x", "API_KEY_2", "a".repeat(128)]) expect(() => assertSecretName(ok)).not.toThrow();
    for (const bad of ["", "1A", "A-B", "A B", "a".repeat(129), "É"]) expect(() => assertSecretName(bad)).toThrow(/not a valid secret name/);
  });

  it("caps the value's JSON in bytes, counting multi-byte characters", () => {
    expect(encodeValue("é".repeat(4), 10).length).toBe(10);
    expect(() => encodeValue("é".repeat(5), 10)).toThrow(/12 bytes; the limit is 10/);
  });

  it("binds scope, scope id, name and version in the associated data", () => {
    const aads = new Set([
      secretAad({ scope: "app", scopeId: "a" }, "N", 1),
      secretAad({ scope: "app", scopeId: "b" }, "N", 1),
      secretAad({ scope: "workspace", scopeId: "a" }, "N", 1),
      secretAad({ scope: "app", scopeId: "a" }, "M", 1),
      secretAad({ scope: "app", scopeId: "a" }, "N", 2),
      secretAad({ scope: "app", scopeId: "a" }, "N", 1, ["api.example.com"]),
      secretAad({ scope: "app", scopeId: "a" }, "N", 1, ["api.example.com", "evil.example"]),
    ]);
    expect(aads.size).toBe(7);
    // Values sealed before bindings existed still open: an unbound value's associated data did not change.
    expect(secretAad({ scope: "app", scopeId: "a" }, "N", 1, null)).toBe("switchyard/secret/v1|app|a|N|1");
  });
});
