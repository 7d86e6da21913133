/**
 * Real local servers for the fetch tests: each counts the connections it
 * accepts, so a test can say that nothing was opened; and a process-wide
 * count of outgoing connections (the `net.client.socket` channel), so a
 * refused fetch can be shown to have connected nowhere at all.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { expect } from "vitest";
import { FetchError } from "./errors.ts";
import type { HostFetchRequest } from "./types.ts";

export interface TestServer {
  port: number;
  /** `http://127.0.0.1:PORT` (or https://…). */
  origin: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/** An HTTP server on `host` (127.0.0.1 unless told), or HTTPS when `tls` is given. */
export async function startServer(handler: Handler, options: { host?: string; port?: number; tls?: { key: string; cert: string } } = {}): Promise<TestServer> {
  const host = options.host ?? "127.0.0.1";
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  let connections = 0;
  server.on(options.tls ? "secureConnection" : "connection", () => connections++);
  // A TLS client that refuses our certificate hangs up mid-handshake.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    port,
    origin: `${options.tls ? "https" : "http"}://${shown}:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Counts the client sockets this process sends anywhere until `stop()`: those
 * whose name resolved to an address to connect to, and those that connected.
 * (A socket whose lookup the policy refused is created, but never sends a packet.)
 */
export function countClientConnections(): { count(): number; stop(): void } {
  let count = 0;
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: net.Socket }).socket;
    let counted = false;
    const once = () => {
      if (!counted) count++;
      counted = true;
    };
    socket.on("lookup", (error: Error | null) => error === null && once());
    socket.on("connect", once);
  };
  subscribe("net.client.socket", onSocket);
  return { count: () => count, stop: () => unsubscribe("net.client.socket", onSocket) };
}

/** Reads a request body whole. */
export async function bodyOf(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const text = (body: Uint8Array) => new TextDecoder().decode(body);
export const bytes = (value: string) => new TextEncoder().encode(value);

/** A GET the way the runtime hands one over, following redirects. */
export const getRequest = (url: string): HostFetchRequest => ({ method: "GET", url, headers: [], body: null, redirect: "follow" });

/** The FetchError `promise` rejects with (the test fails when it resolves, or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}
