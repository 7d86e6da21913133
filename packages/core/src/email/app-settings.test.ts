import { describe, expect, it } from "vitest";
import { intersectAllowlists } from "./app-settings.ts";

describe("intersectAllowlists", () => {
  it("keeps only what every list allows, in the lists' own entry forms", () => {
    expect(intersectAllowlists([["@ops.example"], ["@bank.example"]])).toEqual([]);
    expect(intersectAllowlists([["@ops.example"], ["alerts@ops.example", "ceo@bank.example"]])).toEqual(["alerts@ops.example"]);
    expect(intersectAllowlists([["ops.example", "Bank.example"], ["@bank.example", "x@ops.example"]])).toEqual(["x@ops.example", "@bank.example"]);
    expect(intersectAllowlists([["a@ops.example"], ["A@OPS.example"]])).toEqual(["a@ops.example"]);
    expect(intersectAllowlists([["@ops.example"], ["a@ops.example.evil"]])).toEqual([]);
  });

  it("treats a missing list as no restriction, and no list at all as none", () => {
    expect(intersectAllowlists([null, ["@ops.example"], null])).toEqual(["@ops.example"]);
    expect(intersectAllowlists([null, null])).toBeNull();
    expect(intersectAllowlists([])).toBeNull();
    // An empty list allows nothing, and nothing below can add to it.
    expect(intersectAllowlists([[], ["@ops.example"]])).toEqual([]);
  });
});
