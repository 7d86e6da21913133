/**
 * A node:http server on 127.0.0.1 that keeps every byte it receives, as it
 * arrived on the socket (request lines, headers, bodies), and each request
 * parsed: what exfiltration tests search for a secret.
 */
import http from "node:http";
import type net from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordingServer {
  port: number;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** `127.0.0.1:PORT`, as a binding or an egress rule names it. */
  host: string;
  requests: RecordedRequest[];
  /** Every byte received so far, on every connection, as text. */
  received(): string;
  close(): Promise<void>;
}

export async function startRecordingServer(handler: (request: RecordedRequest, response: http.ServerResponse) => void = (_r, res) => res.end("ok")): Promise<RecordingServer> {
  const chunks: Buffer[] = [];
  const requests: RecordedRequest[] = [];
  const server = http.createServer(async (req, res) => {
    const body: Buffer[] = [];
    for await (const chunk of req) body.push(chunk as Buffer);
    const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(body).toString("utf8") };
    requests.push(seen);
    handler(seen, res);
  });
  server.on("connection", (socket: net.Socket) => socket.on("data", (chunk: Buffer) => chunks.push(chunk)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    received: () => Buffer.concat(chunks).toString("utf8"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
