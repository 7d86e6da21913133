/**
 * Reading an IP address in every spelling a resolver accepts. `getaddrinfo`
 * hands a numeric host to `inet_aton`, which takes one to four parts, each
 * decimal, `0x` hex or `0`-leading octal, the last part filling the bytes
 * left: `2130706433`, `0x7f000001`, `017700000001`, `127.1` and `0x7f.0.0.1`
 * all reach 127.0.0.1. A policy that compared only dotted quads would let
 * each of these through.
 *
 * @example
 * parseAddress("0x7f.1");           // { family: 4, address: "127.0.0.1", bytes }
 * parseAddress("[::ffff:7f00:1]");  // { family: 6, address: "::ffff:7f00:1", bytes }
 * parseAddress("mail.example.com"); // null
 */
import { isIPv6 } from "node:net";

export interface ParsedAddress {
  family: 4 | 6;
  /** One spelling: dotted decimal, or compressed lowercase IPv6 without brackets or zone. */
  address: string;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/** An IPv4 or IPv6 address in any spelling a resolver would take as numeric; null for a name. */
export function parseAddress(text: string): ParsedAddress | null {
  const host = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (host.includes(":")) return parseIPv6(host);
  const bytes = parseIPv4(host);
  return bytes ? { family: 4, address: formatIPv4(bytes), bytes } : null;
}

/**
 * `inet_aton`'s reading of IPv4 text, or null. A trailing dot is accepted
 * (`127.0.0.1.`): WHATWG URL parsing, which a client may have applied before
 * us, does the same.
 */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.replace(/\.$/, "").split(".");
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIPv4Part(part);
    if (value === null) return null;
    numbers.push(value);
  }
  const last = numbers.pop() as number;
  // Leading parts are one byte each; the last fills the remaining bytes.
  if (numbers.some((n) => n > 255) || last >= 2 ** (8 * (4 - numbers.length))) return null;
  let value = last;
  numbers.forEach((n, i) => (value += n * 2 ** (8 * (3 - i))));
  return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
}

function parseIPv4Part(part: string): number | null {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    // "0x" alone is 0 to inet_aton and to URL parsers.
    if (digits === "") return 0;
  } else if (part.length > 1 && part.startsWith("0")) {
    digits = part.slice(1);
    radix = 8;
  }
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  const value = parseInt(digits, radix);
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : null;
}

function parseIPv6(text: string): ParsedAddress | null {
  // A zone (`fe80::1%eth0`) names an interface, not another address.
  const host = text.replace(/%.*$/, "");
  if (!isIPv6(host)) return null;
  const [head = "", tail] = host.split("::");
  const groups = (side: string): number[] => {
    if (side === "") return [];
    const out: number[] = [];
    for (const piece of side.split(":")) {
      if (piece.includes(".")) {
        const v4 = parseIPv4(piece) as Uint8Array;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 255;
  });
  return { family: 6, address: formatIPv6(bytes), bytes };
}

export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join(".");
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(":");
  return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}
