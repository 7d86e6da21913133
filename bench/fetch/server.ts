/**
 * The destination every system fetches from: a node:http keep-alive server
 * answering a small JSON body, on its own thread, so its cost lands on
 * neither side's event loop and the bench times the clients.
 */
import { Worker } from "node:worker_threads";

// Plain JS for the worker (eval'd): no TypeScript loader needed there.
const SERVER_SOURCE = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const body = Buffer.from(JSON.stringify({ ok: true, items: Array.from({ length: workerData.items }, (_, i) => ({ id: i, name: "item " + i })) }));
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port, bytes: body.length }));
parentPort.on("message", () => server.close(() => process.exit(0)));
`;

export interface BenchServer {
  /** `http://127.0.0.1:PORT/items` */
  url: string;
  port: number;
  /** The response body's length, which every system must read whole. */
  bodyBytes: number;
  close(): Promise<void>;
}

/** Starts the server; `items` sets the body's size (20 items ≈ 0.6 KiB, a typical API answer). */
export async function startBenchServer(items = 20): Promise<BenchServer> {
  const worker = new Worker(SERVER_SOURCE, { eval: true, workerData: { items } });
  const ready = await new Promise<{ port: number; bytes: number }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    url: `http://127.0.0.1:${ready.port}/items`,
    port: ready.port,
    bodyBytes: ready.bytes,
    close: async () => {
      worker.postMessage("close");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}
