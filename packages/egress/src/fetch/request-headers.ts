/**
 * The headers a script's request goes out with. Those that frame the
 * message or describe the connection are the client's to write, from the
 * request itself: a script's `Content-Length` or `Transfer-Encoding` could
 * otherwise desynchronise the framing (request smuggling on a reused
 * connection), and its `Host` could address another virtual host than the
 * URL the policy checked. Like Node's fetch, a request that does not say
 * which encodings it accepts accepts gzip, deflate and br, decoded on the
 * way back.
 */

// Hop-by-hop and framing headers (RFC 9110 §7.6.1, RFC 9112 §6), and Host.
const CLIENT_WRITES = new Set(["host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "expect", "content-length", "http2-settings"]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value may not hold CR, LF or NUL (RFC 9110 §5.5): they would end the header early.
const UNSAFE_VALUE = /[\r\n\0]/;

export const ACCEPT_ENCODING = "gzip, deflate, br";

/** The header pairs to send, flattened as undici takes them (duplicates kept, order kept); null when a name or value is not valid. */
export function outgoingHeaders(headers: readonly (readonly [string, string])[]): string[] | null {
  const flat: string[] = [];
  let acceptsEncoding = false;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) return null;
    const lower = name.toLowerCase();
    if (CLIENT_WRITES.has(lower)) continue;
    if (lower === "accept-encoding") acceptsEncoding = true;
    flat.push(name, value);
  }
  if (!acceptsEncoding) flat.push("accept-encoding", ACCEPT_ENCODING);
  return flat;
}
