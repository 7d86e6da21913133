/**
 * A TCP connection opened under the policy: the name is resolved once, every
 * address checked, and the socket connects only to the checked addresses.
 * (net.connect skips `lookup` for a host that is already an address, so the
 * literal is checked here too, before anything is opened.)
 *
 * @example
 * const socket = await connectChecked(policy, { host: "smtp.example.com", port: 587, timeoutMs: 10_000 });
 */
import type { LookupAddress } from "node:dns";
import net, { type LookupFunction } from "node:net";
import { EgressError } from "./errors.ts";
import type { EgressPolicy } from "./policy.ts";

export interface ConnectCheckedOptions {
  host: string;
  port: number;
  /** Covers resolving and connecting. */
  timeoutMs: number;
}

/** Resolves to a connected socket; rejects with EgressError (`egress_denied`, `dns_failed`, `connect_failed`, `egress_timeout`). */
export async function connectChecked(policy: EgressPolicy, options: ConnectCheckedOptions): Promise<net.Socket> {
  const deadline = Date.now() + options.timeoutMs;
  const resolved = await policy.resolve(options.host, options.port);
  if (!resolved.ok) throw resolved.error;
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw new EgressError("egress_timeout", `resolving ${options.host} took longer than ${options.timeoutMs} ms`);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, lookup: answering(resolved.value), autoSelectFamily: resolved.value.length > 1 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EgressError("egress_timeout", `connecting to ${options.host}:${options.port} took longer than ${options.timeoutMs} ms`));
    }, remaining);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new EgressError("connect_failed", `connecting to ${options.host}:${options.port} failed (${error.code ?? "error"})`, { cause: error }));
    });
  });
}

/** A lookup that answers the addresses already checked, and nothing else. */
function answering(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const all = typeof options === "object" && options !== null && options.all === true;
    const first = addresses[0] as LookupAddress;
    if (all) callback(null, [...addresses]);
    else callback(null, first.address, first.family);
  };
}
