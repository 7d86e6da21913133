import { ApiError, UnreachableError, type AdminClient } from "./admin-client.ts";

/** One Server-Sent Event as the spec's parser dispatches it. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Splits an event stream into events (the WHATWG parsing rules: `field:
 * value` lines, a blank line dispatches, `:` lines are comments, CRLF, CR
 * or LF). Comments (heartbeats) are skipped.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | null = null;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: RegExpExecArray | null;
    while ((end = /\r\n|\r|\n/.exec(buffer)) !== null) {
      // A lone CR at the very end may be the first half of a CRLF still on its way.
      if (end[0] === "\r" && end.index === buffer.length - 1) break;
      const line = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
        data = [];
        event = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id" && !value.includes("\0")) id = value;
    }
  }
}

export interface TailOptions {
  /** Resume after this run (a run id), as `Last-Event-ID`. */
  after?: string | undefined;
  signal: AbortSignal;
  /** Told when the connection dropped and a reconnect is due (with the error), and when it is back. */
  onReconnect?: (state: "lost" | "back", error?: unknown) => void;
}

const RECONNECT_MS = [500, 1000, 2000, 5000];

/**
 * The runs of an app as they finish, from `GET .../runs/stream`, for as long
 * as `signal` is not aborted. A dropped connection (a restart, a proxy
 * timeout) is resumed with the last run's id, so no run is lost or repeated;
 * an error answer of the API (401, 404, a bad cursor) ends it with ApiError.
 */
export async function* tailRuns(client: AdminClient, appRef: string, options: TailOptions): AsyncGenerator<Record<string, unknown>> {
  let last = options.after;
  let failures = 0;
  const path = `/api/v1/admin/apps/${encodeURIComponent(appRef)}/runs/stream`;
  while (!options.signal.aborted) {
    let cause: unknown = undefined;
    try {
      const res = await client.openStream(path, { headers: last ? { "last-event-id": last } : {}, signal: options.signal });
      if (failures > 0) options.onReconnect?.("back");
      failures = 0;
      for await (const message of parseEventStream(res.body as ReadableStream<Uint8Array>)) {
        if (message.event !== "run") continue;
        const run = JSON.parse(message.data) as Record<string, unknown>;
        if (message.id) last = message.id;
        yield run;
      }
    } catch (error) {
      if (options.signal.aborted) return;
      // 503 overloaded is worth waiting out; every other API answer is final.
      if (error instanceof ApiError && !(error.status === 503)) throw error;
      if (!(error instanceof ApiError) && !(error instanceof UnreachableError) && !(error instanceof TypeError)) throw error;
      cause = error;
    }
    if (options.signal.aborted) return;
    // The stream ended (the server stopped) or failed: back off, then resume.
    options.onReconnect?.("lost", cause);
    failures += 1;
    await sleep(RECONNECT_MS[Math.min(failures, RECONNECT_MS.length) - 1] ?? 5000, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
