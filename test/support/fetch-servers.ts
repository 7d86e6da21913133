/**
 * Real local servers for scripts' fetch, end to end: each counts the
 * connections it accepts (so a refusal can be shown to have opened
 * nothing), plus a certificate authority made at test time with openssl.
 */
import { execFileSync } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { join } from "node:path";

export interface CountingServer {
  port: number;
  /** `http://127.0.0.1:PORT` (or https://…). */
  origin: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Requests seen so far: method, path with query, body text. */
  requests: Array<{ method: string; url: string; body: string }>;
  close(): Promise<void>;
}

/** An HTTP (or, with `tls`, HTTPS) server on 127.0.0.1 answering with `handler`, after reading the whole body. */
export async function startCountingServer(
  handler: (request: { method: string; url: string; body: string }, response: http.ServerResponse) => void,
  options: { tls?: { key: string; cert: string } } = {},
): Promise<CountingServer> {
  const requests: CountingServer["requests"] = [];
  const onRequest = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen = { method: req.method ?? "", url: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") };
    requests.push(seen);
    handler(seen, res);
  };
  const server = options.tls ? https.createServer(options.tls, onRequest) : http.createServer(onRequest);
  let connections = 0;
  server.on(options.tls ? "secureConnection" : "connection", () => connections++);
  // A client that refuses our certificate hangs up mid-handshake.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    origin: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Counts this process's outgoing connection attempts to `port` (or to an
 * address in `addresses`, any port) until `stop()`, whatever spelling led
 * there: a refused fetch must not even try.
 */
export function countAttempts(port: number, addresses: readonly string[] = []): { count(): number; stop(): void } {
  let count = 0;
  const onSocket = (message: unknown) => {
    (message as { socket: net.Socket }).socket.on("connectionAttempt", (ip: string, to: number) => {
      if (to === port || addresses.includes(ip)) count++;
    });
  };
  subscribe("net.client.socket", onSocket);
  return { count: () => count, stop: () => unsubscribe("net.client.socket", onSocket) };
}

/**
 * A private CA and a server certificate it signs for the address 127.0.0.1,
 * made with the openssl command into `folder` (nothing is checked in).
 */
export function makeCertificates(folder: string, name = "Switchyard test CA"): { caFile: string; key: string; cert: string } {
  const at = (file: string) => join(folder, file);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "1", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-new", ...ec, "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(at("server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("server.pem"), "-days", "1", "-extfile", at("server.ext"));
  return { caFile: at("ca.pem"), key: readFileSync(at("server.key"), "utf8"), cert: readFileSync(at("server.pem"), "utf8") };
}
