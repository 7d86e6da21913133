import http from "node:http";
import type net from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedDelivery {
  id: string;
  timestamp: string;
  /** The raw body as received. */
  body: string;
  /** Whether the `standardwebhooks` library verified it with the receiver's current secret. */
  verified: boolean;
  /** The status answered. */
  answered: number;
}

/**
 * A webhook receiver on 127.0.0.1 that checks each request with the
 * reference `standardwebhooks` library (against `secret`, set once the
 * webhook is created) and answers `answer(n)` for the n-th request (1-based):
 * 200 by default, an unverified request 401.
 */
export async function startWebhookReceiver() {
  const received: ReceivedDelivery[] = [];
  const state = { secret: null as string | null, answer: (_n: number): number => 200 };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = { "webhook-id": String(req.headers["webhook-id"] ?? ""), "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""), "webhook-signature": String(req.headers["webhook-signature"] ?? "") };
    let verified = false;
    try {
      if (state.secret) {
        new Webhook(state.secret).verify(body, headers);
        verified = true;
      }
    } catch {
      verified = false;
    }
    const answered = verified ? state.answer(received.length + 1) : 401;
    received.push({ id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], body, verified, answered });
    res.writeHead(answered, { "content-type": "text/plain" });
    res.end(String(answered));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/switchyard`,
    received,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
