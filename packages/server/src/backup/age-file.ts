import { link, open, readFile, unlink } from "node:fs/promises";
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient, type Identity } from "age-encryption";
import { BackupError } from "./format.ts";

/** Who can open a backup: age recipients (`age1...`) or one passphrase. */
export type SealingKeys = { recipients: string[] } | { passphrase: string };

/** What opens a backup: age identities (`AGE-SECRET-KEY-1...`) or a passphrase. */
export type OpeningKeys = { identities: string[] } | { passphrase: string };

/** age's scrypt work factor for passphrases (its default); tests may lower it to stay fast. */
export const DEFAULT_SCRYPT_LOG_N = 18;

const AGE_MAGIC = "age-encryption.org/v1\n";

/**
 * A new X25519 key pair for backups: the identity file's text (keep it away
 * from the backups, like age-keygen's output) and its recipient (`age1...`).
 */
export async function generateBackupIdentity(): Promise<{ identityFile: string; recipient: string }> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { identityFile: `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`, recipient };
}

/**
 * Reads an age identity file: `AGE-SECRET-KEY-1...` lines, `#` comments and
 * blank lines (the format `age-keygen` writes).
 */
export async function readIdentityFile(path: string): Promise<string[]> {
  const text = await readKeyFile(path, "--identity");
  const identities: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(line)) {
      throw new BackupError("usage", `--identity ${path}: line ${index + 1} is not an age identity (AGE-SECRET-KEY-1...)`);
    }
    identities.push(line);
  }
  if (identities.length === 0) throw new BackupError("usage", `--identity ${path} holds no age identity`);
  return identities;
}

/** Reads a passphrase file: its first line, without the line ending. An empty one is refused. */
export async function readPassphraseFile(path: string): Promise<string> {
  const text = await readKeyFile(path, "--passphrase-file");
  const passphrase = text.split(/\r?\n/)[0] ?? "";
  if (passphrase === "") throw new BackupError("usage", `--passphrase-file ${path}: the first line is empty`);
  return passphrase;
}

async function readKeyFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new BackupError("usage", `${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`, { cause: error });
  }
}

function encrypterFor(keys: SealingKeys, scryptLogN: number): Encrypter {
  const encrypter = new Encrypter();
  if ("passphrase" in keys) {
    encrypter.setPassphrase(keys.passphrase);
    encrypter.setScryptWorkFactor(scryptLogN);
    return encrypter;
  }
  if (keys.recipients.length === 0) throw new BackupError("usage", "give at least one --recipient or a --passphrase-file");
  for (const recipient of keys.recipients) {
    // typage accepts the prefix and checks the encoding only when it wraps a
    // key; the same check up front names the recipient before any work.
    if (!/^age1[02-9ac-hj-np-z]{58,}$/.test(recipient)) {
      throw new BackupError("usage", `--recipient ${JSON.stringify(recipient)} is not an age recipient (age1... as age-keygen prints it)`);
    }
    try {
      encrypter.addRecipient(recipient);
    } catch (error) {
      throw new BackupError("usage", `--recipient ${JSON.stringify(recipient)}: ${(error as Error).message}`, { cause: error });
    }
  }
  return encrypter;
}

/** Checks that every recipient is one age can encrypt to, before any database work. */
export async function checkSealingKeys(keys: SealingKeys): Promise<void> {
  if ("passphrase" in keys) return;
  try {
    await encrypterFor(keys, DEFAULT_SCRYPT_LOG_N).encrypt(new Uint8Array(0));
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError("usage", `a --recipient is not a valid age recipient: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Encrypts `plaintext` with age into `path`, streaming (age seals 64 KiB
 * chunks; nothing holds the whole file). The file is written beside its
 * final name with mode 0600 and linked into place only when complete, so a
 * failed backup never leaves a file that looks whole, and an existing file is
 * never overwritten. Resolves to the file's size in bytes.
 */
export async function writeEncrypted(
  path: string,
  keys: SealingKeys,
  plaintext: AsyncIterable<Buffer>,
  options: { scryptLogN?: number } = {},
): Promise<number> {
  const encrypter = encrypterFor(keys, options.scryptLogN ?? DEFAULT_SCRYPT_LOG_N);
  await refuseExisting(path);
  const partial = `${path}.partial-${process.pid}`;
  try {
    const sealed = await encrypter.encrypt(pulled(plaintext));
    const out = await open(partial, "wx", 0o600);
    try {
      for await (const chunk of chunksOf(sealed)) await out.write(chunk);
      await out.sync();
    } finally {
      await out.close();
    }
    await link(partial, path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "EEXIST") throw new BackupError("usage", `${path} already exists; backups are never overwritten`);
      throw error;
    });
  } finally {
    await unlink(partial).catch(() => {});
  }
  const handle = await open(path, "r");
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

async function refuseExisting(path: string): Promise<void> {
  const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw new BackupError("usage", `cannot write ${path} (${error.code ?? "error"})`, { cause: error });
  });
  if (handle) {
    await handle.close();
    throw new BackupError("usage", `${path} already exists; backups are never overwritten`);
  }
}

/**
 * Opens an age file and answers its plaintext as a stream of chunks. The
 * header is checked before this resolves: a key that opens nothing is
 * `backup_wrong_key`, a header that was altered `backup_corrupt`. Each 64 KiB
 * chunk is authenticated as it is read, so an altered or cut payload throws
 * `backup_corrupt` from the iteration, at the chunk where it is detected;
 * callers must not trust what they read until the iteration has ended.
 */
export async function openEncrypted(path: string, keys: OpeningKeys): Promise<AsyncIterable<Buffer>> {
  await checkMagic(path);
  const decrypter = new Decrypter();
  if ("passphrase" in keys) decrypter.addPassphrase(keys.passphrase);
  else {
    for (const identity of keys.identities) {
      try {
        decrypter.addIdentity(identity);
      } catch (error) {
        throw new BackupError("usage", `an identity is not one age knows: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  // age tries identities in order: reaching this last one means none of the
  // operator's keys matched, which is a wrong key, not a damaged file.
  const sentinel = { reached: false };
  const last: Identity = {
    unwrapFileKey() {
      sentinel.reached = true;
      return null;
    },
  };
  decrypter.addIdentity(last);
  const file = fileStream(path);
  let plaintext: ReadableStream<Uint8Array>;
  try {
    plaintext = await decrypter.decrypt(file);
  } catch (error) {
    if (sentinel.reached) {
      const what = "passphrase" in keys ? "the passphrase" : "none of the identities";
      throw new BackupError("backup_wrong_key", `${what} opens ${path} (a wrong passphrase or identity, or a header that was altered)`, { cause: error });
    }
    throw new BackupError("backup_corrupt", `${path} is damaged: its age header does not authenticate (${(error as Error).message})`, { cause: error });
  }
  return authenticatedChunks(path, plaintext);
}

async function* authenticatedChunks(path: string, plaintext: ReadableStream<Uint8Array>): AsyncIterable<Buffer> {
  let offset = 0;
  const chunks = chunksOf(plaintext)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (error) {
      throw new BackupError(
        "backup_corrupt",
        `${path} is damaged: its content does not authenticate after ${offset} bytes of plaintext (altered or cut short)`,
        { cause: error },
      );
    }
    if (next.done) return;
    offset += next.value.length;
    yield next.value;
  }
}

// Web streams built here rather than through node:stream's adapters: those
// keep pushing file data into a stream that age has already failed, which
// throws outside any caller (ERR_INVALID_STATE) and kills the process.

/** A pull-based web stream over an async iterable: nothing is read ahead of the consumer. */
function pulled(source: AsyncIterable<Buffer>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** A file as a pull-based web stream, 64 KiB a read; the file is closed at its end or on cancel. */
function fileStream(path: string): ReadableStream<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  const close = async () => {
    const open = handle;
    handle = null;
    await open?.close();
  };
  return new ReadableStream<Uint8Array>({
    async start() {
      handle = await open(path, "r");
    },
    async pull(controller) {
      if (!handle) return;
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        await close();
        controller.close();
      } else controller.enqueue(buffer.subarray(0, bytesRead));
    },
    cancel: close,
  });
}

/** A web stream's chunks as Buffers; leaving the loop early cancels the stream. */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncIterable<Buffer> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

async function checkMagic(path: string): Promise<void> {
  const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    throw new BackupError("backup_unreadable", `cannot read ${path} (${error.code ?? "error"})`, { cause: error });
  });
  try {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === 0) throw new BackupError("backup_not_age", `${path} is empty`);
    if (head.subarray(0, bytesRead).toString("latin1") !== AGE_MAGIC) {
      if (head.toString("latin1").startsWith("-----BEGIN")) {
        throw new BackupError("backup_not_age", `${path} is ASCII-armored; de-armor it first (age -d reads it) or keep the binary file`);
      }
      throw new BackupError("backup_not_age", `${path} is not an age-encrypted file (no age-encryption.org/v1 header)`);
    }
  } finally {
    await handle.close();
  }
}
