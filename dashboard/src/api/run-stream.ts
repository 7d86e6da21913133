import { useEffect, useRef, useState } from "preact/hooks";
import { readToken } from "../session.ts";
import type { Run } from "./types.ts";

/** One event of a text/event-stream: its name, data and id. */
interface StreamEvent {
  event: string;
  data: string;
  id: string | null;
}

/** The WHATWG event-stream rules, enough for our server: fields, blank-line dispatch, `:` comments. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\n|\r/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
        data = [];
        event = "";
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(text);
        else if (field === "event") event = text;
        else if (field === "id") id = text;
      }
    }
  }
}

const RETRY_MS = [1000, 2000, 5000, 10000];

/**
 * Follows an app's live tail (`GET .../runs/stream`) while mounted and calls
 * `onRun` for each run as it finishes. EventSource cannot send the bearer
 * token, so this reads the stream with fetch; a dropped connection resumes
 * with Last-Event-ID after a short wait. Answers whether the stream is
 * connected, so the page can fall back to polling while it is not.
 */
export function useRunStream(appId: string, onRun: (run: Run) => void): boolean {
  const [live, setLive] = useState(false);
  const handler = useRef(onRun);
  handler.current = onRun;

  useEffect(() => {
    const stop = new AbortController();
    let last: string | null = null;
    let failures = 0;
    const follow = async () => {
      while (!stop.signal.aborted) {
        try {
          const token = readToken();
          const headers: Record<string, string> = { accept: "text/event-stream" };
          if (token) headers.authorization = `Bearer ${token}`;
          if (last) headers["last-event-id"] = last;
          const res = await fetch(`/api/v1/admin/apps/${encodeURIComponent(appId)}/runs/stream`, { headers, signal: stop.signal, cache: "no-store" });
          // A refusal (signed out, no runs:read, unknown app) will not change by retrying; the page still polls.
          if (res.status >= 400 && res.status < 500) return;
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          setLive(true);
          failures = 0;
          for await (const message of events(res.body)) {
            if (message.event !== "run") continue;
            if (message.id) last = message.id;
            handler.current(JSON.parse(message.data) as Run);
          }
        } catch {
          // Dropped, refused for now (503), or aborted: wait, then resume.
        }
        setLive(false);
        if (stop.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
      }
    };
    void follow();
    return () => {
      stop.abort();
      setLive(false);
    };
  }, [appId]);

  return live;
}
