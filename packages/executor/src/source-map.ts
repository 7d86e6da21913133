/**
 * Maps stack-trace positions in compiled script code back to the author's
 * source, using the v3 source map `compileScript` produced. A small VLQ
 * decoder instead of a dependency: only "generated position → original
 * position" is needed, for one file.
 */

export interface MapStackOptions {
  /** The filename the sandbox compiled the code under; `script.js` by default. */
  filename?: string;
  /** Characters the sandbox's wrapper puts before the code on line 1; 0 by default. */
  firstLineColumnOffset?: number;
}

/** [generated column, source index, original line, original column], all 0-based; or just [generated column] when unmapped. */
type Segment = [number] | [number, number, number, number];

interface DecodedMap {
  sources: string[];
  /** Segments per generated line, sorted by generated column. */
  lines: Segment[][];
}

/**
 * Rewrites every `filename:line:column` in `stack` that the source map knows
 * to the author's `source:line:column`. Frames it cannot map (helpers the
 * compiler added, other files, host frames) are left as they are. Never
 * throws: on a missing or malformed map it returns `stack` unchanged.
 *
 * @example
 * mapStack("Error: boom\n    at handler (script.js:24:11)", compiled.sourceMap);
 * // "Error: boom\n    at handler (script.ts:3:9)"
 */
export function mapStack(stack: string, sourceMap: string | null, options: MapStackOptions = {}): string {
  try {
    if (typeof stack !== "string" || !sourceMap) return stack;
    const map = decodeMap(sourceMap);
    if (!map) return stack;
    const filename = options.filename ?? "script.js";
    const offset = options.firstLineColumnOffset ?? 0;
    // Preceded by start, whitespace or "(" so "myscript.js:1:2" is not taken for "script.js:1:2".
    const pattern = new RegExp(`(^|[\\s(])${escapeRegExp(filename)}:(\\d+):(\\d+)(?!\\d)`, "gm");
    return stack.replace(pattern, (whole, before: string, line: string, column: string) => {
      const found = lookup(map, Number(line), Number(column), offset);
      return found ? `${before}${found}` : whole;
    });
  } catch {
    return stack;
  }
}

/** `line` and `column` are 1-based, as V8 prints them. */
function lookup(map: DecodedMap, line: number, column: number, firstLineColumnOffset: number): string | null {
  const segments = map.lines[line - 1];
  if (!segments || segments.length === 0) return null;
  const col = column - 1 - (line === 1 ? firstLineColumnOffset : 0);
  if (col < 0) return null;
  // The last segment starting at or before the column covers it (what
  // source-map libraries call GREATEST_LOWER_BOUND).
  let lo = 0;
  let hi = segments.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((segments[mid] as Segment)[0] <= col) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const segment = segments[best];
  if (!segment || segment.length === 1) return null;
  const source = map.sources[segment[1]];
  if (source === undefined) return null;
  return `${source}:${segment[2] + 1}:${segment[3] + 1}`;
}

function decodeMap(text: string): DecodedMap | null {
  const raw = JSON.parse(text) as { version?: unknown; sources?: unknown; sourceRoot?: unknown; mappings?: unknown };
  // Index maps (`sections`) and other versions are not produced by our compiler.
  if (raw.version !== 3 || typeof raw.mappings !== "string" || !Array.isArray(raw.sources)) return null;
  const root = typeof raw.sourceRoot === "string" && raw.sourceRoot !== "" ? raw.sourceRoot.replace(/\/?$/, "/") : "";
  const sources = raw.sources.map((s) => `${root}${String(s)}`);
  const lines = decodeMappings(raw.mappings);
  return lines ? { sources, lines } : null;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

/**
 * Decodes the `mappings` string: lines split by ";", segments by ",", each a
 * run of base64 VLQ numbers. Every field but the generated column is relative
 * to the previous segment across the whole string, so it is decoded in one pass.
 * Returns null on malformed input.
 */
function decodeMappings(mappings: string): Segment[][] | null {
  const lines: Segment[][] = [];
  let segments: Segment[] = [];
  let source = 0;
  let origLine = 0;
  let origCol = 0;
  let genCol = 0;
  let fields: number[] = [];
  let value = 0;
  let shift = 0;

  const endSegment = (): boolean => {
    if (fields.length === 0) return true;
    if (fields.length !== 1 && fields.length !== 4 && fields.length !== 5) return false;
    genCol += fields[0] as number;
    if (fields.length === 1) {
      segments.push([genCol]);
    } else {
      source += fields[1] as number;
      origLine += fields[2] as number;
      origCol += fields[3] as number;
      segments.push([genCol, source, origLine, origCol]);
    }
    fields = [];
    return true;
  };

  for (const char of mappings) {
    if (char === "," || char === ";") {
      if (shift !== 0 || !endSegment()) return null;
      if (char === ";") {
        // Segments usually arrive in column order; sort in case a producer did not.
        lines.push(segments.sort((a, b) => a[0] - b[0]));
        segments = [];
        genCol = 0;
      }
      continue;
    }
    const digit = BASE64_VALUE.get(char);
    if (digit === undefined) return null;
    value += (digit & 31) * 2 ** shift;
    shift += 5;
    if (digit & 32) continue;
    // The lowest bit of a finished number is its sign.
    fields.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
    value = 0;
    shift = 0;
  }
  if (shift !== 0 || !endSegment()) return null;
  lines.push(segments.sort((a, b) => a[0] - b[0]));
  return lines;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
