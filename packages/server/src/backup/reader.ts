import { createHash, type Hash } from "node:crypto";
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BackupError,
  type BackupHeader,
  type BackupManifest,
} from "./format.ts";
import type { BackupOrigin } from "./origin.ts";
import { BACKUP_TABLES } from "./tables.ts";

/** The longest line a backup may hold: a row of raw inbound mail (25 MiB as hex) fits with room. */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

export interface RowVisitor {
  /** A table begins (tables come in the header's order). */
  table?(name: string): Promise<void> | void;
  /** One row: its JSON text as stored in the file. */
  row?(table: string, json: Buffer): Promise<void> | void;
  /** A table's rows have all been read and counted. */
  tableEnd?(name: string, rows: number): Promise<void> | void;
}

/**
 * Reads a backup's plaintext (format.ts) once, front to back: the header
 * first, then each table's rows handed to a visitor, counted and digested as
 * they pass, then the manifest, which must agree with the header, with what
 * was read, and be the last line. Anything else is a BackupError; a caller
 * that writes rows must treat them as untrusted until `body` resolves.
 *
 * @example
 * const reader = await BackupReader.open(await openEncrypted(path, keys));
 * const manifest = await reader.body({ row: (table, json) => ... });
 */
export class BackupReader {
  /** The manifest's JSON text as written, once `body` has read it (what the origin MAC covers). */
  manifestText = "";
  /** The origin MAC after the manifest; null when the file has none. */
  origin: BackupOrigin | null = null;

  private constructor(
    readonly header: BackupHeader,
    /** The header's JSON text as written. */
    readonly headerText: string,
    private readonly rest: AsyncIterator<Buffer>,
  ) {}

  static async open(plaintext: AsyncIterable<Buffer>): Promise<BackupReader> {
    const lines = splitLines(plaintext)[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new BackupError("backup_format", "the backup is empty inside");
    const header = parseTagged(first.value, "H", "its header") as BackupHeader;
    if (header.format !== BACKUP_FORMAT) throw new BackupError("backup_format", "this is not a Switchyard backup");
    if (header.format_version !== BACKUP_FORMAT_VERSION) {
      throw new BackupError("backup_format", `backup format version ${header.format_version} is not one this switchyard reads (it reads ${BACKUP_FORMAT_VERSION})`);
    }
    checkTableOrder(header);
    return new BackupReader(header, first.value.subarray(1).toString("utf8"), lines);
  }

  /** Reads every row, then checks counts and digests against the manifest; resolves to the manifest. */
  async body(visitor: RowVisitor = {}): Promise<BackupManifest> {
    const seen: Record<string, { rows: number; digest: Hash }> = {};
    let current: string | null = null;
    let tableIndex = 0;
    const finishTable = async () => {
      if (current === null) return;
      const expected = this.header.tables[tableIndex - 1];
      const got = seen[current]!.rows;
      if (expected && expected.rows !== got) {
        throw new BackupError("backup_digest_mismatch", `table ${current}: the header announced ${expected.rows} rows, the backup holds ${got}`);
      }
      await visitor.tableEnd?.(current, got);
    };
    for (;;) {
      const next = await this.rest.next();
      if (next.done) throw new BackupError("backup_format", "the backup ends without its manifest");
      const line = next.value;
      const tag = line[0];
      if (tag === 0x52 /* R */) {
        if (current === null) throw new BackupError("backup_format", "a row comes before any table");
        const json = line.subarray(1);
        const entry = seen[current]!;
        entry.digest.update(json);
        entry.digest.update(NEWLINE);
        entry.rows += 1;
        await visitor.row?.(current, json);
        continue;
      }
      if (tag === 0x54 /* T */) {
        await finishTable();
        const { table } = parseTagged(line, "T", "a table line") as { table: string };
        const expected = this.header.tables[tableIndex];
        if (!expected || expected.name !== table) {
          throw new BackupError("backup_format", `table ${JSON.stringify(table)} is not the next one the header lists (${expected?.name ?? "none"})`);
        }
        tableIndex += 1;
        current = table;
        seen[table] = { rows: 0, digest: createHash("sha256") };
        await visitor.table?.(table);
        continue;
      }
      if (tag === 0x4d /* M */) {
        await finishTable();
        const manifest = parseTagged(line, "M", "the manifest") as BackupManifest;
        this.manifestText = line.subarray(1).toString("utf8");
        const after = await this.rest.next();
        if (!after.done && after.value[0] === 0x53 /* S */) {
          this.origin = parseTagged(after.value, "S", "the origin MAC") as BackupOrigin;
          if ((await this.rest.next()).done !== true) throw new BackupError("backup_format", "the backup goes on after its origin MAC");
        } else if (!after.done) throw new BackupError("backup_format", "the backup goes on after its manifest");
        if (tableIndex !== this.header.tables.length) {
          throw new BackupError("backup_format", `the backup holds ${tableIndex} of the ${this.header.tables.length} tables its header lists`);
        }
        checkManifest(this.header, manifest, seen);
        return manifest;
      }
      throw new BackupError("backup_format", `a line of unknown kind ${JSON.stringify(String.fromCharCode(tag ?? 0))}`);
    }
  }
}

const NEWLINE = Buffer.from("\n");

function checkManifest(header: BackupHeader, manifest: BackupManifest, seen: Record<string, { rows: number; digest: Hash }>): void {
  if (manifest.format !== header.format || manifest.format_version !== header.format_version || manifest.created_at !== header.created_at) {
    throw new BackupError("backup_format", "the manifest does not belong to this backup's header");
  }
  if (JSON.stringify(manifest.migrations) !== JSON.stringify(header.migrations)) {
    throw new BackupError("backup_format", "the manifest's migration level differs from the header's");
  }
  const listed = Object.keys(manifest.tables ?? {});
  const read = Object.keys(seen);
  if (listed.length !== read.length || !read.every((t) => t in manifest.tables)) {
    throw new BackupError("backup_digest_mismatch", `the manifest lists tables ${listed.join(", ")}; the backup holds ${read.join(", ")}`);
  }
  for (const [table, { rows, digest }] of Object.entries(seen)) {
    const claimed = manifest.tables[table]!;
    if (claimed.rows !== rows) throw new BackupError("backup_digest_mismatch", `table ${table}: the manifest counts ${claimed.rows} rows, the backup holds ${rows}`);
    const actual = digest.digest("hex");
    if (claimed.sha256 !== actual) {
      throw new BackupError("backup_digest_mismatch", `table ${table}: its rows do not match the manifest's SHA-256 (altered after the backup was made)`);
    }
  }
}

/** The header's tables must be known ones, each once, in the order a restore inserts them. */
function checkTableOrder(header: BackupHeader): void {
  let last = -1;
  for (const { name } of header.tables ?? []) {
    const at = BACKUP_TABLES.findIndex((t) => t.name === name);
    if (at < 0) throw new BackupError("backup_format", `the backup holds table ${JSON.stringify(name)}, which this switchyard does not know`);
    if (at <= last) throw new BackupError("backup_format", `the backup's tables are out of order at ${name}`);
    last = at;
  }
}

function parseTagged(line: Buffer, tag: string, what: string): unknown {
  if (line.subarray(0, 1).toString("latin1") !== tag) throw new BackupError("backup_format", `expected ${what}`);
  try {
    return JSON.parse(line.subarray(1).toString("utf8"));
  } catch (error) {
    throw new BackupError("backup_format", `${what} is not valid JSON`, { cause: error });
  }
}

/** Splits a byte stream at "\n", holding at most one line (bounded by MAX_LINE_BYTES). */
async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end < 0) break;
      const piece = chunk.subarray(start, end);
      yield pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw new BackupError("backup_format", `a line of the backup is longer than ${MAX_LINE_BYTES} bytes`);
      pending.push(chunk.subarray(start));
    }
  }
  if (pendingBytes > 0) throw new BackupError("backup_format", "the backup's last line is not terminated");
}
