import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, createAdminClient } from "./admin-client.ts";
import { parseEventStream, tailRuns } from "./run-stream.ts";

function bodyOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe("parseEventStream", () => {
  it("splits events on blank lines across chunks and line endings, joins data lines, skips comments", async () => {
    const events = await all(parseEventStream(bodyOf([": connected\r\nretry: 2000\r\n\r\nevent: run\nid: run_1\ndata: {\"a\":", "1}\n\n: keep-alive\n\nevent: run\r", "\nid: run_2\rdata: line one\ndata: line two\n\n"])));
    expect(events).toEqual([
      { event: "run", id: "run_1", data: '{"a":1}' },
      { event: "run", id: "run_2", data: "line one\nline two" },
    ]);
  });
});

describe("tailRuns", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("resumes after a dropped connection with the last run's id, and stops on an API refusal", async () => {
    const seen: (string | undefined)[] = [];
    server = http.createServer((req, res) => {
      const last = req.headers["last-event-id"] as string | undefined;
      seen.push(last);
      if (seen.length === 3) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "not_found", message: 'app "shop" was not found' } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const n = last ? Number(last.slice(4)) + 1 : 1;
      // One run, then the connection drops (a restart, a proxy timeout).
      res.end(`event: run\nid: run${"_"}${n}\ndata: ${JSON.stringify({ id: `run_${n}` })}\n\n`);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const client = createAdminClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "sy_test");
    const states: string[] = [];
    const runs: unknown[] = [];
    const stop = new AbortController();
    await expect(
      (async () => {
        for await (const run of tailRuns(client, "shop", { after: "run_0", signal: stop.signal, onReconnect: (s) => states.push(s) })) runs.push(run);
      })(),
    ).rejects.toBeInstanceOf(ApiError);
    expect(runs).toEqual([{ id: "run_1" }, { id: "run_2" }]);
    expect(seen).toEqual(["run_0", "run_1", "run_2"]);
    expect(states).toEqual(["lost", "back", "lost"]);
  });
});
