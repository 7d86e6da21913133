import { parseEgressRules } from "@switchyard/egress";
import { describe, expect, it } from "vitest";
import { intersectEgressRules } from "./app-egress.ts";

const met = (...layers: string[]) => intersectEgressRules(layers.map((layer) => parseEgressRules(layer))).map((rule) => rule.text);

describe("intersectEgressRules", () => {
  it("keeps a single layer as it is, and allows nothing when given none", () => {
    expect(met("api.example.com, *.corp.example:8443")).toEqual(["api.example.com", "*.corp.example:8443"]);
    expect(met()).toEqual([]);
  });

  it("meets names in the narrower one: a host in a wildcard, a deeper wildcard, never a sibling", () => {
    expect(met("*.example.com", "api.example.com, api.other.com")).toEqual(["api.example.com"]);
    expect(met("api.example.com", "*.example.com")).toEqual(["api.example.com"]);
    expect(met("*.example.com", "*.eu.example.com")).toEqual(["*.eu.example.com"]);
    expect(met("*.example.com", "example.com")).toEqual([]);
    expect(met("a.example.com", "b.example.com")).toEqual([]);
  });

  it("meets ports: a port narrows a portless entry, two different ports never meet", () => {
    expect(met("api.example.com", "api.example.com:8443")).toEqual(["api.example.com:8443"]);
    expect(met("api.example.com:443", "*.example.com:8443")).toEqual([]);
    expect(met("10.0.0.0/8:443", "10.1.0.0/16")).toEqual(["10.1.0.0/16:443"]);
    expect(met("fd00::/8", "[fd00:1::/32]:8080")).toEqual(["[fd00:1::/32]:8080"]);
  });

  it("meets networks in the contained one, and never a name with an address or IPv4 with IPv6", () => {
    expect(met("10.0.0.0/8", "10.1.2.3, 192.168.0.0/16")).toEqual(["10.1.2.3/32"]);
    expect(met("10.1.0.0/16", "10.0.0.0/8")).toEqual(["10.1.0.0/16"]);
    expect(met("10.0.0.0/8", "11.0.0.0/8")).toEqual([]);
    expect(met("api.example.com", "10.0.0.0/8")).toEqual([]);
    expect(met("10.0.0.0/8", "::ffff:10.0.0.0/104")).toEqual([]);
  });

  it("lets a third layer narrow further, so a nearer scope can never lift a farther one", () => {
    expect(met("*.example.com", "*.eu.example.com, *.us.example.com", "api.eu.example.com, api.other.com")).toEqual(["api.eu.example.com"]);
  });
});
