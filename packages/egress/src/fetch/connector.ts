/**
 * The connector behind every fetch connection: undici calls it to open a
 * socket, and it opens one only to an address the policy allows. A name is
 * resolved by the policy's `lookup` (every address checked, only allowed
 * ones answered) inside net.connect itself, so the address checked is the
 * address connected to; an address literal, which net.connect never looks
 * up, is checked here before anything is opened.
 */
import net from "node:net";
import tls from "node:tls";
import { buildConnector } from "undici";
import { EgressError } from "../errors.ts";
import type { EgressPolicy } from "../policy.ts";

export interface CheckedConnectorOptions {
  /** PEM certificate authorities trusted besides the system's (not instead of them). */
  ca?: readonly (string | Buffer)[];
  /** Connecting (and the TLS handshake) must end within this. */
  connectTimeoutMs: number;
}

export function checkedConnector(policy: EgressPolicy, options: CheckedConnectorOptions): buildConnector.connector {
  // One connector per port: the policy's rules may name ports (`127.0.0.1:8080`),
  // so the lookup has to know which port it resolves for. Each keeps its own TLS session cache.
  const byPort = new Map<number, buildConnector.connector>();
  // tls's `ca` replaces the system's roots (and NODE_EXTRA_CA_CERTS): a private CA is added to them instead.
  const trust = options.ca && options.ca.length > 0 ? { ca: [...tls.rootCertificates, ...options.ca.map(String)] } : {};
  return (connectOptions, callback) => {
    const port = Number(connectOptions.port) || (connectOptions.protocol === "https:" ? 443 : 80);
    if (net.isIP(connectOptions.hostname)) {
      const decision = policy.check(connectOptions.hostname, connectOptions.hostname, port);
      if (!decision.ok) {
        callback(new EgressError("egress_denied", decision.reason), null);
        return;
      }
    }
    let connector = byPort.get(port);
    if (!connector) {
      connector = buildConnector({ ...trust, rejectUnauthorized: true, timeout: options.connectTimeoutMs, lookup: policy.lookupFor(port) });
      byPort.set(port, connector);
    }
    connector(connectOptions, callback);
  };
}
