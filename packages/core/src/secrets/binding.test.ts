import { describe, expect, it } from "vitest";
import { SwitchyardError } from "../errors.ts";
import { bindingAad, bindingLoosens, canonicalBinding, MAX_BOUND_HOSTS, sameBinding } from "./binding.ts";

const issuesOf = (entries: string[]) => {
  try {
    canonicalBinding(entries);
  } catch (error) {
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).code).toBe("invalid_input");
    return (error as SwitchyardError).details as { path: string; entry?: string; message: string }[];
  }
  throw new Error(`${JSON.stringify(entries)} was accepted`);
};

describe("host bindings", () => {
  it("canonicalizes: lowercase, one spelling per name or address, no duplicates, sorted", () => {
    expect(canonicalBinding(["API.Stripe.com", "api.stripe.com.", "*.Example.COM:443", " api.stripe.com "])).toEqual(["*.example.com:443", "api.stripe.com"]);
    expect(canonicalBinding(["127.1", "[2001:DB8:0::1]:8443", "2001:db8::1", "bücher.example"])).toEqual([
      "127.0.0.1",
      "2001:db8::1",
      "[2001:db8::1]:8443",
      "xn--bcher-kva.example",
    ]);
  });

  it("answers null for no binding, whether null or empty", () => {
    expect(canonicalBinding(null)).toBeNull();
    expect(canonicalBinding([])).toBeNull();
  });

  it("refuses ranges, URLs, bad names and ports, naming each bad entry by its index", () => {
    const issues = issuesOf(["api.example.com", "10.0.0.0/8", "https://api.example.com/x", "bad host", "*", "*.com", "host:99999", ""]);
    expect(issues.map((i) => i.path)).toEqual(["bound_hosts.1", "bound_hosts.2", "bound_hosts.3", "bound_hosts.4", "bound_hosts.5", "bound_hosts.6", "bound_hosts.7"]);
    expect(issues[0]?.entry).toBe("10.0.0.0/8");
    expect(issues[0]?.message).toMatch(/range \(CIDR\)/);
  });

  it(`allows at most ${MAX_BOUND_HOSTS} entries`, () => {
    const hosts = Array.from({ length: MAX_BOUND_HOSTS + 1 }, (_, i) => `h${i}.example.com`);
    expect(canonicalBinding(hosts.slice(1))).toHaveLength(MAX_BOUND_HOSTS);
    expect(issuesOf(hosts)[0]?.path).toBe("bound_hosts");
  });

  it("loosens on unbinding or on a host no entry covered; binding, narrowing and dropping do not", () => {
    expect(bindingLoosens(["api.example.com"], null)).toBe(true);
    expect(bindingLoosens(["api.example.com"], ["api.example.com", "other.example"])).toBe(true);
    expect(bindingLoosens(["api.example.com:443"], ["api.example.com"])).toBe(true);
    expect(bindingLoosens(["*.example.com"], ["example.com"])).toBe(true);
    expect(bindingLoosens(["api.example.com"], ["*.api.example.com"])).toBe(true);
    expect(bindingLoosens(["203.0.113.7:443"], ["203.0.113.7"])).toBe(true);
    expect(bindingLoosens(["203.0.113.7"], ["::ffff:203.0.113.7"])).toBe(true);

    expect(bindingLoosens(null, ["api.example.com"])).toBe(false);
    expect(bindingLoosens(null, null)).toBe(false);
    expect(bindingLoosens(["a.example", "b.example"], ["a.example"])).toBe(false);
    expect(bindingLoosens(["*.example.com"], ["api.example.com", "*.eu.example.com", "*.example.com:443"])).toBe(false);
    expect(bindingLoosens(["api.example.com"], ["api.example.com:8443"])).toBe(false);
    expect(bindingLoosens(["203.0.113.7"], ["203.0.113.7:443"])).toBe(false);
  });

  it("adds nothing to the associated data of an unbound value, and the stored binding byte for byte to a bound one", () => {
    expect(bindingAad(null)).toBe("");
    expect(bindingAad(["a.example"])).not.toBe(bindingAad(["a.example", "b.example"]));
    expect(bindingAad(["a.example"])).not.toBe(bindingAad([]));
    expect(sameBinding(["a"], ["a"])).toBe(true);
    expect(sameBinding(["a"], null)).toBe(false);
  });
});
