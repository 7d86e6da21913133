/**
 * The shapes a script's `fetch` crosses the host boundary in. They are the
 * executor's `HostFetchRequest` / `HostFetchResponse`, declared here by
 * structure because this package imports nothing of ours: the server hands
 * the client's `fetch` to the executor's `Host.fetch` as it is.
 */

/** A script's `fetch` as the host performs it. */
export interface HostFetchRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  redirect: "follow" | "manual" | "error";
}

/** The host's answer to a `fetch`: the whole response, its body decoded (gzip, deflate, br) as fetch does. */
export interface HostFetchResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The final URL (no fragment), after any redirects followed. */
  url: string;
  redirected: boolean;
  body: Uint8Array;
}
