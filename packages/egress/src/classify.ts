/**
 * Which addresses are internal: those a request from this host could use to
 * reach the host itself, its network or its cloud's metadata service, rather
 * than a public destination. An IPv6 address that carries an IPv4 one
 * (mapped, compatible, translated, NAT64, 6to4, Teredo) is judged by the IPv4
 * address it leads to.
 *
 * @example
 * classifyAddress("169.254.169.254"); // { category: "metadata", address: "169.254.169.254" }
 * classifyAddress("64:ff9b::a00:1");  // { category: "private", address: "10.0.0.1" }
 * classifyAddress("93.184.215.14");   // null
 */
import { BlockList } from "node:net";
import { formatIPv4, parseAddress, type ParsedAddress } from "./address.ts";

export type AddressCategory =
  | "loopback"
  | "private"
  | "link_local"
  | "metadata"
  | "cgnat"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved";

export interface Internal {
  category: AddressCategory;
  /** The address that decided it: the embedded IPv4 one when an IPv6 address carries one. */
  address: string;
}

type Range = readonly [network: string, prefix: number];

// Checked in order: the first category whose ranges hold the address wins,
// so the narrower ranges (metadata, broadcast) come before wider ones.
const IPV4: readonly [AddressCategory, readonly Range[]][] = [
  // AWS/GCP/Azure/OpenStack metadata, Azure's WireServer (public space, reachable only from inside Azure).
  ["metadata", [["169.254.169.254", 32], ["168.63.129.16", 32]]],
  ["broadcast", [["255.255.255.255", 32]]],
  ["unspecified", [["0.0.0.0", 8]]],
  ["loopback", [["127.0.0.0", 8]]],
  ["private", [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16]]],
  ["link_local", [["169.254.0.0", 16]]],
  // Alibaba's metadata (100.100.100.200) is in here too.
  ["cgnat", [["100.64.0.0", 10]]],
  ["multicast", [["224.0.0.0", 4]]],
  // IETF protocol assignments (Oracle's metadata 192.0.0.192), documentation,
  // benchmarking, the 6to4 relay anycast and the class E space.
  ["reserved", [["192.0.0.0", 24], ["192.0.2.0", 24], ["198.51.100.0", 24], ["203.0.113.0", 24], ["198.18.0.0", 15], ["192.88.99.0", 24], ["240.0.0.0", 4]]],
];

const IPV6: readonly [AddressCategory, readonly Range[]][] = [
  ["unspecified", [["::", 128]]],
  ["loopback", [["::1", 128]]],
  // Unique local (AWS's metadata fd00:ec2::254 among them) and the deprecated site-local.
  ["private", [["fc00::", 7], ["fec0::", 10]]],
  ["link_local", [["fe80::", 10]]],
  ["multicast", [["ff00::", 8]]],
  // Discard, local-use NAT64, IETF protocol assignments (Teredo, ORCHID),
  // documentation, and the IPv4-compatible block whose embedded address was
  // public (deprecated, never a real destination).
  ["reserved", [["100::", 64], ["64:ff9b:1::", 48], ["2001::", 23], ["2001:db8::", 32], ["3fff::", 20], ["::", 96]]],
];

function compile(table: readonly [AddressCategory, readonly Range[]][], type: "ipv4" | "ipv6") {
  return table.map(([category, ranges]) => {
    const list = new BlockList();
    for (const [network, prefix] of ranges) list.addSubnet(network, prefix, type);
    return { category, list };
  });
}

const V4 = compile(IPV4, "ipv4");
const V6 = compile(IPV6, "ipv6");

/**
 * The internal category of an address in any spelling, or null when it is
 * public. Text that is not an address is `reserved`: what cannot be judged is
 * not let through.
 */
export function classifyAddress(text: string): Internal | null {
  const parsed = parseAddress(text);
  if (!parsed) return { category: "reserved", address: text };
  return classifyParsed(parsed);
}

export function classifyParsed(parsed: ParsedAddress): Internal | null {
  if (parsed.family === 4) return classifyIPv4(parsed.address);
  for (const embedded of embeddedIPv4(parsed.bytes)) {
    const inner = classifyIPv4(embedded);
    if (inner) return inner;
  }
  // BlockList reads ::ffff:a.b.c.d against the IPv4 ranges by itself, but
  // only that form: the IPv6 table is checked on its own terms.
  const hit = V6.find(({ category, list }) => category !== "reserved" && list.check(parsed.address, "ipv6"));
  if (hit) return { category: hit.category, address: parsed.address };
  const reserved = V6.find(({ category, list }) => category === "reserved" && list.check(parsed.address, "ipv6"));
  return reserved ? { category: "reserved", address: parsed.address } : null;
}

function classifyIPv4(address: string): Internal | null {
  const hit = V4.find(({ list }) => list.check(address, "ipv4"));
  return hit ? { category: hit.category, address } : null;
}

/**
 * IPv4 addresses an IPv6 address leads to: mapped (::ffff:0:0/96),
 * translated (::ffff:0:0:0/96), compatible (::/96, beyond :: and ::1), the
 * NAT64 well-known prefix (64:ff9b::/96), 6to4 (2002::/16) and Teredo
 * (2001::/32: its server, and its client obfuscated by inversion).
 */
export function embeddedIPv4(bytes: Uint8Array): string[] {
  const word = (i: number) => ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  const last = formatIPv4(bytes.subarray(12, 16));
  const out: string[] = [];
  if (zeros(0, 10) && word(10) === 0xffff) out.push(last);
  if (zeros(0, 8) && word(8) === 0xffff && word(10) === 0) out.push(last);
  if (zeros(0, 12) && !(zeros(12, 15) && (bytes[15] as number) <= 1)) out.push(last);
  if (word(0) === 0x64 && word(2) === 0xff9b && zeros(4, 12)) out.push(last);
  if (word(0) === 0x2002) out.push(formatIPv4(bytes.subarray(2, 6)));
  if (word(0) === 0x2001 && word(2) === 0) {
    out.push(formatIPv4(bytes.subarray(4, 8)));
    out.push(formatIPv4(bytes.subarray(12, 16).map((b) => b ^ 0xff)));
  }
  return out;
}
