import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, listeningUrl, startCli, bootstrapToken } from "./support/cli.ts";
import { parseAnswer } from "./support/raw-http.ts";

const MIB = 1024 * 1024;
const BODY_BYTES = 25 * MIB;
const CHUNK = Buffer.alloc(64 * 1024, 97);

/** The resident memory of a process, from /proc (Linux), in bytes. */
/** The process's RSS once two samples 250 ms apart differ by less than 1 MB (at most 10 s). */
async function settledRss(pid: number): Promise<number> {
  let last = rss(pid);
  for (const until = Date.now() + 10_000; Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rss(pid);
    if (Math.abs(now - last) < 1e6) return now;
    last = now;
  }
  return last;
}

function rss(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

interface Answer {
  status: number;
  ms: number;
  json: { error?: { code: string; details?: { limit?: number; size?: number } } };
}

/**
 * POSTs a 25 MiB body over a raw socket, streamed from one repeated 64 KiB
 * chunk (declared by Content-Length, or chunked), and stops sending as soon
 * as the answer starts: the test never holds more than that chunk. A raw
 * socket, because a server may answer (and close) mid-upload, as curl
 * handles and node:http's client does not.
 */
function flood(base: URL, path: string, chunked: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(base.port), base.hostname);
    let received = Buffer.alloc(0);
    let ms: number | null = null;
    const head = [`POST ${path} HTTP/1.1`, `Host: ${base.host}`, "Content-Type: message/rfc822", chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${BODY_BYTES}`, "", ""].join("\r\n");
    const framed = chunked ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from("\r\n")]) : CHUNK;
    socket.on("data", (data: Buffer) => {
      ms ??= performance.now() - started;
      received = Buffer.concat([received, data]);
      const answer = parseAnswer(received);
      if (answer) {
        socket.destroy();
        resolve({ ...answer, ms });
      }
    });
    // Once answered, the server closes the connection under the rest of the upload: write errors are expected.
    socket.on("error", () => undefined);
    socket.on("close", () => reject(new Error(`closed without a whole answer: ${received.toString("latin1").slice(0, 200)}`)));
    let sent = 0;
    const pump = (): void => {
      while (ms === null && !socket.destroyed && sent < BODY_BYTES) {
        sent += CHUNK.length;
        if (!socket.write(framed)) {
          socket.once("drain", pump);
          return;
        }
      }
      if (ms === null && !socket.destroyed && chunked) socket.write("0\r\n\r\n");
    };
    socket.write(head, pump);
  });
}

describe("a flood of 25 MiB inbound posts against a real server process", () => {
  let server: ReturnType<typeof startCli>;
  let base: URL;
  let cappedTrigger: string;

  beforeAll(async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sy-flood-")), "data");
    server = startCli(["serve", "--dev", "--port", "0"], { SWITCHYARD_DATA_DIR: dataDir });
    base = new URL(await listeningUrl(server, 150_000));
    const token = await bootstrapToken(server);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const post = async (path: string, body: unknown) => (await (await fetch(new URL(path, base), { method: "POST", headers, body: JSON.stringify(body) })).json()) as { id: string };
    const app = await post("/api/v1/admin/apps", { name: "flooded" });
    const script = await post(`/api/v1/admin/apps/${app.id}/scripts`, { name: "noop", source: "export default () => 1" });
    cappedTrigger = (await post(`/api/v1/admin/apps/${app.id}/triggers`, { kind: "email", name: "capped", script_id: script.id, config: { provider: "mime", signing: false, max_body_bytes: MIB } })).id;
    expect(cappedTrigger).toMatch(/^trg_/);
  }, 180_000);

  afterAll(async () => {
    server?.kill("SIGTERM");
    if (server) await finished(server);
  });

  /** Sends 32 posts at once (half declared, half chunked) and samples the server's RSS meanwhile. */
  async function thirtyTwo(path: string): Promise<{ answers: Answer[]; grewBy: number }> {
    // Warm the route first, so the first request's one-off costs are not counted.
    await flood(base, path, false);
    // And let the server's own start-up work (executor threads making their
    // spare isolates and code caches) finish: its growth is not the flood's.
    const before = await settledRss(server.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid!))), 10);
    try {
      const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => flood(base, path, i % 2 === 1)));
      // Bodies still draining after the answers count too.
      await new Promise((r) => setTimeout(r, 300));
      return { answers, grewBy: peak - before };
    } finally {
      clearInterval(sampler);
    }
  }

  it("answers every post to an unknown trigger 401 within a second, its memory growing by less than 50 MB", async () => {
    const { answers, grewBy } = await thirtyTwo(`/api/v1/email-inbound/trg_${"7".repeat(24)}`);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.json.error?.code).toBe("unauthorized");
      expect(answer.ms).toBeLessThan(1000);
    }
    expect(grewBy).toBeLessThan(50 * 1e6);
  }, 60_000);

  it("refuses every post to a trigger capped at 1 MiB at its cap, with 413, memory still bounded", async () => {
    const { answers, grewBy } = await thirtyTwo(`/api/v1/email-inbound/${cappedTrigger}`);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(413);
      expect(answer.json.error?.details?.limit).toBe(MIB);
      // Declared: refused on the header, before a byte is read. Chunked: read no further than one chunk past the cap.
      if (i % 2 === 0) expect(answer.json.error?.details?.size).toBe(BODY_BYTES);
      else expect(answer.json.error?.details?.size).toBeLessThanOrEqual(MIB + CHUNK.length);
      // Reading 1 MiB each of 16 chunked bodies at once takes its time on a busy machine;
      // reading 25 MiB each would take far longer.
      expect(answer.ms).toBeLessThan(5000);
    }
    expect(grewBy).toBeLessThan(50 * 1e6);
  }, 60_000);

  it("keeps the refusal readable by a client that goes on uploading before it reads", async () => {
    // The client writes 4 MiB to an unknown trigger and only then reads. The server
    // answered 401 after the head and closed with upload bytes unread; a plain close
    // meets those with a RST, which wipes the 401 from the client's receive buffer.
    const socket = connect(Number(base.port), base.hostname);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.on("error", () => undefined);
    socket.pause();
    socket.write([`POST /api/v1/email-inbound/trg_${"8".repeat(24)} HTTP/1.1`, `Host: ${base.host}`, `Content-Length: ${BODY_BYTES}`, "", ""].join("\r\n"));
    for (let i = 0; i < 64; i++) socket.write(CHUNK);
    await new Promise((r) => setTimeout(r, 500));
    const answer = await new Promise<Omit<Answer, "ms"> | null>((resolve) => {
      let received = Buffer.alloc(0);
      socket.on("data", (data: Buffer) => {
        received = Buffer.concat([received, data]);
        const parsed = parseAnswer(received);
        if (parsed) resolve(parsed);
      });
      socket.on("close", () => resolve(parseAnswer(received)));
      setTimeout(() => resolve(parseAnswer(received)), 5_000).unref();
      socket.resume();
    });
    socket.destroy();
    expect(answer?.status).toBe(401);
  }, 30_000);
});
