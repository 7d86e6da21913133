import { describe, expect, it } from "vitest";
import { parseAddress } from "./address.ts";
import { classifyAddress } from "./classify.ts";

const category = (text: string) => classifyAddress(text)?.category ?? "public";

describe("parseAddress", () => {
  it("reads every IPv4 spelling the resolver accepts as the address it resolves to", () => {
    for (const spelling of ["127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "017700000001", "127.1", "127.0.1", "0x7f.1", "0177.0.0.1", "0x7f.0x0.0.0x1", "127.0.0.1."]) {
      expect(parseAddress(spelling)?.address, spelling).toBe("127.0.0.1");
    }
    expect(parseAddress("0")?.address).toBe("0.0.0.0");
    expect(parseAddress("10.1")?.address).toBe("10.0.0.1");
    expect(parseAddress("4294967295")?.address).toBe("255.255.255.255");
  });

  it("takes names and impossible numbers for names", () => {
    for (const text of ["example.com", "127.0.0.1.5", "256.0.0.1", "4294967296", "127.0.0.08", "1.2.3.0x100", "", "a.1", "127.0.0.1:80"]) {
      expect(parseAddress(text), text).toBeNull();
    }
  });

  it("reads IPv6 with brackets, zones and embedded IPv4 in one spelling", () => {
    expect(parseAddress("[::1]")?.address).toBe("::1");
    expect(parseAddress("0:0:0:0:0:0:0:1")?.address).toBe("::1");
    expect(parseAddress("::ffff:127.0.0.1")?.address).toBe("::ffff:7f00:1");
    expect(parseAddress("FE80::1%eth0")?.address).toBe("fe80::1");
    expect(parseAddress("2001:db8:0:0:1:0:0:1")?.address).toBe("2001:db8::1:0:0:1");
    expect(parseAddress("::")?.address).toBe("::");
    expect(parseAddress("1:2:3:4:5:6:7::")?.address).toBe("1:2:3:4:5:6:7:0");
    expect(parseAddress(":::1")).toBeNull();
  });
});

describe("classifyAddress", () => {
  it("refuses loopback in every spelling", () => {
    for (const spelling of ["127.0.0.1", "127.255.255.254", "2130706433", "0x7f000001", "017700000001", "127.1", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1", "::ffff:0:127.0.0.1"]) {
      expect(category(spelling), spelling).toBe("loopback");
    }
  });

  it("refuses private, link-local, metadata, CGNAT, unspecified, multicast and broadcast addresses", () => {
    const cases: [string, string][] = [
      ["10.0.0.1", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["fc00::1", "private"],
      ["fd12:3456::1", "private"],
      ["fec0::1", "private"],
      ["169.254.1.1", "link_local"],
      ["fe80::1", "link_local"],
      ["fe80::1%eth0", "link_local"],
      ["169.254.169.254", "metadata"],
      ["2852039166", "metadata"],
      ["0xa9fea9fe", "metadata"],
      ["::ffff:169.254.169.254", "metadata"],
      ["168.63.129.16", "metadata"],
      ["100.64.0.1", "cgnat"],
      ["100.127.255.255", "cgnat"],
      ["100.100.100.200", "cgnat"],
      ["0.0.0.0", "unspecified"],
      ["0.1.2.3", "unspecified"],
      ["0", "unspecified"],
      ["::", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["239.255.255.250", "multicast"],
      ["ff02::1", "multicast"],
      ["255.255.255.255", "broadcast"],
      ["240.0.0.1", "reserved"],
      ["192.0.0.192", "reserved"],
      ["2001:db8::1", "reserved"],
      ["not an address", "reserved"],
    ];
    for (const [address, expected] of cases) expect(category(address), address).toBe(expected);
  });

  it("judges IPv6 that carries an IPv4 address by that address", () => {
    // NAT64 well-known prefix
    expect(category("64:ff9b::10.0.0.1")).toBe("private");
    expect(category("64:ff9b::a9fe:a9fe")).toBe("metadata");
    expect(category("64:ff9b::7f00:1")).toBe("loopback");
    expect(category("64:ff9b::8.8.8.8")).toBe("public");
    // 6to4: the IPv4 address sits in the second and third groups
    expect(category("2002:7f00:1::1")).toBe("loopback");
    expect(category("2002:c0a8:101::1")).toBe("private");
    expect(category("2002:0808:0808::1")).toBe("public");
    // mapped, compatible and translated forms
    expect(category("::ffff:10.1.2.3")).toBe("private");
    expect(category("::ffff:a01:203")).toBe("private");
    expect(category("::10.1.2.3")).toBe("private");
    expect(category("::ffff:0:10.1.2.3")).toBe("private");
    expect(category("::ffff:8.8.8.8")).toBe("public");
    // Compatible form of a public address: deprecated, never a real destination.
    expect(category("::8.8.8.8")).toBe("reserved");
    // Teredo, a tunnel to any IPv4 address: refused outright.
    expect(category("2001:0:4136:e378:8000:63bf:3fff:fdd2")).toBe("reserved");
    expect(category("64:ff9b:1::1")).toBe("reserved");
  });

  it("lets public addresses through", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "169.253.255.255", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"]) {
      expect(classifyAddress(address), address).toBeNull();
    }
  });
});
