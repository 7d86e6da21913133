import { describe, expect, it } from "vitest";
import { EgressRuleError, parseEgressRules } from "./rules.ts";

const shape = (text: string) =>
  parseEgressRules(text).map((rule) => (rule.kind === "host" ? { host: rule.host, subdomains: rule.subdomains, port: rule.port } : { network: `${rule.network}/${rule.prefix}`, port: rule.port }));

describe("parseEgressRules", () => {
  it("reads CIDRs, addresses in any spelling, hosts, *.domain and each with a port", () => {
    expect(shape("10.0.0.0/8, fd00::/8 127.1 [::1]:2525  Mail.Internal:25 *.corp.example 10.0.0.0/8:587 [fd00::/8]:587 0x7f000001:25 ::1 bücher.example")).toEqual([
      { network: "10.0.0.0/8", port: null },
      { network: "fd00::/8", port: null },
      { network: "127.0.0.1/32", port: null },
      { network: "::1/128", port: 2525 },
      { host: "mail.internal", subdomains: false, port: 25 },
      { host: "corp.example", subdomains: true, port: null },
      { network: "10.0.0.0/8", port: 587 },
      { network: "fd00::/8", port: 587 },
      { network: "127.0.0.1/32", port: 25 },
      { network: "::1/128", port: null },
      { host: "xn--bcher-kva.example", subdomains: false, port: null },
    ]);
    expect(parseEgressRules("")).toEqual([]);
    expect(parseEgressRules([" a.example ", "b.example,c.example"])).toHaveLength(3);
  });

  it("refuses what it cannot read, naming the entry", () => {
    for (const bad of ["http://x.example", "x.example:0", "x.example:70000", "x.example:http", "10.0.0.0/33", "fd00::/129", "10.0.0.0/8/8", "*", "*.com", "*.*.example.com", "a/b", "user@x.example", "*.[::1]", "[::1", "-bad-.example", "x..example"]) {
      expect(() => parseEgressRules(bad), bad).toThrow(EgressRuleError);
    }
    expect(() => parseEgressRules("ok.example, http://x")).toThrow('"http://x" is not a CIDR, an address, a host, *.domain, or one of those with :port');
  });
});
