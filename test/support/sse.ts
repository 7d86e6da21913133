/** One Server-Sent Event as a test sees it, with when it arrived. */
export interface ReceivedEvent {
  event: string;
  id: string | null;
  data: string;
  /** Date.now() when its blank line arrived. */
  at: number;
}

/**
 * Reads an event stream in the background: `events` fills as they arrive,
 * `comments` counts `:` lines (heartbeats), `ended` resolves when the server
 * closes it. `close()` cancels the body (a client going away).
 */
export function collectEvents(res: Response) {
  const events: ReceivedEvent[] = [];
  const state = { comments: 0 };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    let buffer = "";
    let current: { event: string; id: string | null; data: string[] } = { event: "message", id: null, data: [] };
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (current.data.length > 0) events.push({ event: current.event, id: current.id, data: current.data.join("\n"), at: Date.now() });
          current = { event: "message", id: current.id, data: [] };
        } else if (line.startsWith(":")) state.comments += 1;
        else if (line.startsWith("data: ")) current.data.push(line.slice(6));
        else if (line.startsWith("event: ")) current.event = line.slice(7);
        else if (line.startsWith("id: ")) current.id = line.slice(4);
      }
    }
  })();
  return {
    events,
    state,
    ended,
    runs: (): Record<string, any>[] => events.filter((e) => e.event === "run").map((e) => ({ ...(JSON.parse(e.data) as Record<string, any>), receivedAt: e.at })),
    close: () => reader.cancel().catch(() => undefined),
  };
}
