import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Context } from "hono";

/** How long a refused upload's connection stays half-open after the answer (nginx's lingering_timeout is 5 s). */
export const LINGER_MS = 2_000;

/**
 * Ends the connection once the answer is out, without losing the answer.
 *
 * A public endpoint refuses a request mid-upload (unknown trigger, over its
 * cap, budget spent) and answers `Connection: close` rather than reading the
 * rest. Node then ends the connection with `socket.destroySoon()`: with upload
 * bytes still unread, the kernel meets them with a RST, and a RST makes the
 * client's kernel drop what it has not yet handed to the client, the answer
 * included (seen in CI: a flood client got a closed socket and no 401). So the
 * close lingers, as nginx's lingering_close does: the answer and a FIN are
 * sent, the client gets up to LINGER_MS to read them and stop, then the socket
 * is destroyed whatever still arrives.
 */
export function closeAfterAnswer(c: Context): void {
  c.header("Connection", "close");
  const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket as (Socket & { lingering?: true }) | undefined;
  if (!socket || socket.lingering) return;
  socket.lingering = true;
  socket.destroySoon = function lingeringDestroy(this: Socket) {
    if (this.destroyed) return;
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
  };
}
