import { parseHeaderValue } from "nodemailer/lib/mime-funcs";
import { decodeEncodedWords } from "./encoded-words.ts";
import { tooComplex, tooLarge } from "./errors.ts";
import { parseHeaderLines, stripTrailingCr } from "./headers.ts";
import type { InboundLimits } from "./types.ts";

/** What the pre-scan counted. */
export interface MimeStructure {
  /** MIME entities: the root, every part a delimiter opens, every embedded message. */
  parts: number;
  /** Deepest nesting of containers (multiparts and embedded messages); 0 for a single-part message. */
  depth: number;
  /** Set when the scan stopped early because a limit was crossed. */
  exceeded: "parts" | "depth" | null;
}

/** An open container: a multipart's boundary candidates, or none for an embedded message. */
type Frame = readonly Buffer[];

/** What one Content-Type value makes of its entity. */
interface Container {
  boundaries: Buffer[];
  embedded: boolean;
}

const DASH = 0x2d;
const DELIMITER_START = Buffer.from("\n--");
const NOT_A_CONTAINER: Container = { boundaries: [], embedded: false };

/**
 * Matches the line `raw[start, end)` against a delimiter (RFC 2046 5.1.1) the
 * way mailparser's splitter does: `--boundary`, optionally `--`, then only
 * SP, HTAB or CR. Returns 1 for a part delimiter, 2 for the close delimiter,
 * 0 otherwise. Works on offsets: a line is never copied or sliced.
 */
function delimiter(raw: Buffer, start: number, end: number, boundary: Buffer): 0 | 1 | 2 {
  if (end - start < boundary.length + 2) return 0;
  // A byte loop: boundaries are short, and a call into Buffer#compare per
  // line costs more than the comparison itself on a message of dash lines.
  for (let j = 0; j < boundary.length; j++) if (raw[start + 2 + j] !== boundary[j]) return 0;
  let i = start + 2 + boundary.length;
  let kind: 1 | 2 = 1;
  if (i + 1 < end && raw[i] === DASH && raw[i + 1] === DASH) {
    kind = 2;
    i += 2;
  }
  for (; i < end; i++) {
    const byte = raw[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return 0;
  }
  return kind;
}

/**
 * Reads a Content-Type for the boundaries it could be taken to declare, or
 * whether it embeds a message. Both readings of a boundary (comments
 * stripped, as mailparser's splitter does, and kept) count, so a spelling
 * that hides a boundary from one reader cannot hide parts from the count:
 * the scan may over-count, never under-count.
 */
function readContainer(contentType: string): Container {
  const boundaries = new Set<string>();
  let embedded = false;
  for (const stripComments of [true, false]) {
    const parsed = parseHeaderValue(contentType, { stripComments });
    const type = parsed.value.trim().toLowerCase();
    if (type === "message/rfc822" || type === "message/global") embedded = true;
    if (!type.startsWith("multipart/")) continue;
    // An RFC 2231 boundary*= comes back as an encoded word; decode it to the bytes on the wire.
    const boundary = decodeEncodedWords(parsed.params.boundary ?? "").trimEnd();
    if (boundary !== "") boundaries.add(boundary);
  }
  return { boundaries: [...boundaries].map((b) => Buffer.from(b, "latin1")), embedded: boundaries.size === 0 && embedded };
}

/**
 * Counts MIME parts and nesting without building anything: one pass over the
 * lines, a stack of open containers, and the Content-Type of each header
 * block. Cheap enough to run before mailparser (whose cost grows with parts
 * and depth and which has no depth limit of its own), and it stops as soon as
 * a limit is crossed, so a 10,000-part or 1,000-deep message costs a few
 * milliseconds. Embedded messages always count as nesting, even where
 * mailparser would treat them as attachments: over-counting is the safe side.
 */
export function scanMimeStructure(raw: Buffer, limits: Pick<InboundLimits, "maxParts" | "maxDepth">): MimeStructure {
  const stack: Frame[] = [];
  // Hostile messages repeat one Content-Type thousands of times; read each spelling once.
  const containers = new Map<string, Container>();
  let parts = 1;
  let depth = 0;
  let inHeaders = true;
  let headerLines: string[] = [];
  let start = 0;

  const push = (frame: Frame): boolean => {
    stack.push(frame);
    depth = Math.max(depth, stack.length);
    return stack.length <= limits.maxDepth;
  };

  while (start < raw.length) {
    if (!inHeaders && !(raw[start] === DASH && raw[start + 1] === DASH)) {
      // In a body only a line starting "--" can matter: jump to the next one.
      const next = raw.indexOf(DELIMITER_START, start);
      if (next < 0) break;
      start = next + 1;
    }
    const lf = raw.indexOf(0x0a, start);
    const end = lf < 0 ? raw.length : lf;
    const lineStart = start;
    start = end + 1;

    // A delimiter of any open multipart ends whatever is nested inside it, header blocks included.
    if (raw[lineStart] === DASH && raw[lineStart + 1] === DASH && lineStart + 1 < end && stack.length > 0) {
      let matched = false;
      for (let level = stack.length - 1; level >= 0 && !matched; level--) {
        for (const boundary of stack[level] as Frame) {
          const kind = delimiter(raw, lineStart, end, boundary);
          if (kind === 0) continue;
          matched = true;
          if (kind === 1) {
            stack.length = level + 1;
            parts++;
            if (parts > limits.maxParts) return { parts, depth, exceeded: "parts" };
            inHeaders = true;
            headerLines = [];
          } else {
            stack.length = level;
            inHeaders = false;
          }
          break;
        }
      }
      if (matched) continue;
    }

    if (!inHeaders) continue;
    const text = stripTrailingCr(raw.toString("latin1", lineStart, end));
    if (text !== "") {
      headerLines.push(text);
      continue;
    }
    // End of a header block: does this entity open a container? Only the
    // first Content-Type counts, as in mailparser's splitter; reading them all
    // would let one block declare thousands of boundaries to test every line against.
    const contentType = parseHeaderLines(headerLines).find(([name]) => name.toLowerCase() === "content-type")?.[1];
    headerLines = [];
    inHeaders = false;
    let container = NOT_A_CONTAINER;
    if (contentType !== undefined) {
      container = containers.get(contentType) ?? readContainer(contentType);
      if (containers.size < 1000) containers.set(contentType, container);
    }
    if (container.boundaries.length > 0) {
      if (!push(container.boundaries)) return { parts, depth, exceeded: "depth" };
    } else if (container.embedded) {
      if (!push([])) return { parts, depth, exceeded: "depth" };
      parts++;
      if (parts > limits.maxParts) return { parts, depth, exceeded: "parts" };
      inHeaders = true;
    }
  }
  return { parts, depth, exceeded: null };
}

/** Refuses a message over `maxBytes` (413) or past `maxParts` / `maxDepth` (422) before any parsing. */
export function guardMimeStructure(raw: Buffer, limits: InboundLimits): MimeStructure {
  if (raw.length > limits.maxBytes) throw tooLarge(raw.length, limits.maxBytes);
  const structure = scanMimeStructure(raw, limits);
  if (structure.exceeded === "parts") {
    throw tooComplex(`message has more than ${limits.maxParts} MIME parts`, { maxParts: limits.maxParts });
  }
  if (structure.exceeded === "depth") {
    throw tooComplex(`message nests MIME parts deeper than ${limits.maxDepth} levels`, { maxDepth: limits.maxDepth });
  }
  return structure;
}
