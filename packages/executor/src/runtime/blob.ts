/**
 * `Blob` and `File` (the File API, without streams), INSIDE the isolate.
 * The bytes are held in one private array.
 */
import { isBufferSource, toBytes } from "./bytes.ts";
import { utf8Decode } from "./utf8.ts";
import { utf8Encode } from "./encoding.ts";

const contents = new WeakMap<object, { bytes: Uint8Array; type: string }>();

function contentOf(blob: unknown): { bytes: Uint8Array; type: string } {
  const content = contents.get(blob as object);
  if (!content) throw new TypeError("Illegal invocation: not a Blob");
  return content;
}

/** The bytes of a blob (not a copy: the runtime's own callers never change them). */
export function blobBytes(blob: Blob): Uint8Array {
  return contentOf(blob).bytes;
}

function normalizeType(type: unknown): string {
  const text = type === undefined ? "" : String(type);
  return /[^\u0020-\u007e]/.test(text) ? "" : text.toLowerCase();
}

/** Immutable bytes with a media type. */
export class Blob {
  constructor(parts?: Iterable<unknown> | null, options?: { type?: unknown; endings?: unknown } | null) {
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (parts !== undefined && parts !== null) {
      if (typeof parts !== "object" || typeof (parts as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
        throw new TypeError("Blob: blobParts must be a sequence");
      }
      for (const part of parts) {
        let bytes: Uint8Array;
        if (part instanceof Blob) bytes = contentOf(part).bytes;
        else if (isBufferSource(part)) bytes = toBytes(part, "Blob").slice();
        else bytes = utf8Encode(String(part));
        chunks.push(bytes);
        size += bytes.length;
      }
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    contents.set(this, { bytes, type: normalizeType(options?.type) });
  }
  get size(): number {
    return contentOf(this).bytes.length;
  }
  get type(): string {
    return contentOf(this).type;
  }
  slice(start?: number, end?: number, contentType?: string): Blob {
    const { bytes } = contentOf(this);
    const size = bytes.length;
    const clamp = (n: number | undefined, fallback: number) => {
      if (n === undefined) return fallback;
      const i = Math.trunc(Number(n)) || 0;
      return i < 0 ? Math.max(size + i, 0) : Math.min(i, size);
    };
    const from = clamp(start, 0);
    const to = clamp(end, size);
    const blob = new Blob([], { type: contentType });
    contentOf(blob).bytes = bytes.slice(from, Math.max(from, to));
    return blob;
  }
  async text(): Promise<string> {
    return utf8Decode(contentOf(this).bytes);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return contentOf(this).bytes.slice().buffer;
  }
  async bytes(): Promise<Uint8Array> {
    return contentOf(this).bytes.slice();
  }
  stream(): never {
    throw new TypeError("Blob.stream: streams are not available in this runtime; use arrayBuffer() or text()");
  }
  get [Symbol.toStringTag](): string {
    return "Blob";
  }
}

/** A Blob with a name and a modification time. */
export class File extends Blob {
  readonly #name: string;
  readonly #lastModified: number;
  constructor(parts: Iterable<unknown>, name: unknown, options?: { type?: unknown; lastModified?: unknown } | null) {
    if (arguments.length < 2) throw new TypeError("File: 2 arguments required");
    super(parts, options);
    this.#name = String(name);
    const modified = options?.lastModified === undefined ? Date.now() : Number(options.lastModified);
    this.#lastModified = Number.isFinite(modified) ? Math.trunc(modified) : 0;
  }
  get name(): string {
    return this.#name;
  }
  get lastModified(): number {
    return this.#lastModified;
  }
  override get [Symbol.toStringTag](): string {
    return "File";
  }
}
