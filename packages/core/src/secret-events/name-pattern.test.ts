import { describe, expect, it } from "vitest";
import { NAME_PATTERN, nameMatches } from "./name-pattern.ts";

describe("secret name patterns", () => {
  it("matches * as any run and ? as one character, case-sensitively", () => {
    expect(nameMatches("STRIPE_*", "STRIPE_KEY")).toBe(true);
    expect(nameMatches("STRIPE_*", "STRIPE_")).toBe(true);
    expect(nameMatches("STRIPE_*", "STRIPE")).toBe(false);
    expect(nameMatches("STRIPE_*", "stripe_key")).toBe(false);
    expect(nameMatches("*_TOKEN", "GITHUB_TOKEN")).toBe(true);
    expect(nameMatches("*_TOKEN", "GITHUB_TOKENS")).toBe(false);
    expect(nameMatches("DB_?_URL", "DB_1_URL")).toBe(true);
    expect(nameMatches("DB_?_URL", "DB_12_URL")).toBe(false);
    expect(nameMatches("*", "ANY")).toBe(true);
    expect(nameMatches("API_KEY", "API_KEY")).toBe(true);
    expect(nameMatches("API_KEY", "API_KEY2")).toBe(false);
    expect(nameMatches("A*B*C", "AXXBYYC")).toBe(true);
    expect(nameMatches("A*B*C", "AXXBYY")).toBe(false);
  });

  it("stays fast on patterns of many stars", () => {
    const started = performance.now();
    expect(nameMatches("*A*A*A*A*A*A*A*A*A*A*A*B", "A".repeat(128))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("accepts name characters and wildcards only", () => {
    expect(NAME_PATTERN.test("STRIPE_*")).toBe(true);
    expect(NAME_PATTERN.test("STRIPE.*")).toBe(false);
    expect(NAME_PATTERN.test("")).toBe(false);
    expect(NAME_PATTERN.test("A".repeat(129))).toBe(false);
  });
});
