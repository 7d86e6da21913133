/**
 * Both ends of a host call that an executor thread hands to the caller's
 * thread: on the thread, a `Host` whose methods forward each call and wait
 * for its answer; on the caller's thread, `answerCall`, which performs it on
 * the real Host and describes the result as plain data. A HostError and a
 * fetch failure's `code` cross as they are; any other failure is reported to
 * `onHostFailure` where it happened, with its real cause, and the script sees
 * `internal_error` as it would without threads.
 */
import { HostError, SecretPlaceholder, type Host, type HostFetchResponse } from "../types.ts";
import type { HostAnswer, HostCall } from "./protocol.ts";

/** Thrown on the thread for a failure the caller's thread has already reported. */
export class ReportedFailure extends Error {
  override name = "ReportedFailure";
}

/** How the forwarding host reaches the caller's thread (batched by thread-main.ts). */
export interface Forwarder {
  call(call: number, request: HostCall): void;
  abort(call: number): void;
}

/** The thread's end: a Host that forwards, and where answers arrive. */
export function createForwardingHost(forwarder: Forwarder, has: { signWithSecret: boolean; fetch: boolean }): { host: Host; answer(call: number, answer: HostAnswer): void } {
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  let calls = 0;
  const forward = (request: HostCall, signal?: AbortSignal): Promise<unknown> => {
    const call = ++calls;
    return new Promise((resolve, reject) => {
      waiting.set(call, { resolve, reject });
      forwarder.call(call, request);
      signal?.addEventListener("abort", () => forwarder.abort(call), { once: true });
    });
  };
  const host: Host = {
    getSecret: (ctx, name) => forward({ op: "getSecret", ctx, name }),
    listSecrets: (ctx) => forward({ op: "listSecrets", ctx }) as Promise<string[]>,
    sendEmail: (ctx, kind, message) => forward({ op: "sendEmail", ctx, kind, message }),
    ...(has.signWithSecret
      ? { signWithSecret: (ctx, name, data, algorithm, encoding) => forward({ op: "signWithSecret", ctx, name, data: new Uint8Array(data), algorithm, encoding }) as Promise<string | null> }
      : {}),
    ...(has.fetch ? { fetch: (ctx, request, signal) => forward({ op: "fetch", ctx, request }, signal) as Promise<HostFetchResponse> } : {}),
  };
  return {
    host,
    answer(call, answer) {
      const waiter = waiting.get(call);
      if (!waiter) return;
      waiting.delete(call);
      if (answer.ok) {
        waiter.resolve("placeholder" in answer ? new SecretPlaceholder(answer.placeholder) : answer.value);
      } else if ("reported" in answer) {
        waiter.reject(new ReportedFailure("reported on the caller's thread"));
      } else if (answer.hostError) {
        waiter.reject(new HostError(answer.code, answer.message, answer.retryable));
      } else {
        waiter.reject(Object.assign(new Error(answer.message), { code: answer.code }));
      }
    },
  };
}

/** SDK names, as `onHostFailure` hears them without threads. */
const SDK_OP: Record<HostCall["op"], (request: HostCall) => string> = {
  getSecret: () => "secrets.get",
  signWithSecret: () => "secrets.sign",
  listSecrets: () => "secrets.list",
  sendEmail: (request) => (request.op === "sendEmail" && request.kind === "html" ? "email.sendHtml" : "email.send"),
  fetch: () => "fetch",
};

/** The caller's end: performs `request` on `host` and describes the result. */
export async function answerCall(
  host: Host,
  request: HostCall,
  signal: AbortSignal,
  onHostFailure: (error: unknown, info: { op: string; ctx: HostCall["ctx"] }) => void,
): Promise<HostAnswer> {
  try {
    switch (request.op) {
      case "getSecret": {
        const value = await host.getSecret(request.ctx, request.name);
        return isPlaceholder(value) ? { ok: true, placeholder: value.text } : { ok: true, value };
      }
      case "signWithSecret":
        if (!host.signWithSecret) throw new HostError("not_configured", "secrets.sign is not available on this host");
        return { ok: true, value: await host.signWithSecret(request.ctx, request.name, Buffer.from(request.data), request.algorithm, request.encoding) };
      case "listSecrets":
        return { ok: true, value: await host.listSecrets(request.ctx) };
      case "sendEmail":
        return { ok: true, value: await host.sendEmail(request.ctx, request.kind, request.message) };
      case "fetch":
        if (!host.fetch) throw Object.assign(new Error("this platform has no fetch"), { code: "egress_denied" });
        return { ok: true, value: await host.fetch(request.ctx, request.request, signal) };
    }
  } catch (error) {
    if (isHostError(error)) return { ok: false, hostError: true, code: error.code, message: error.message, retryable: error.retryable === true };
    const code = (error as { code?: unknown } | null)?.code;
    if (request.op === "fetch" && typeof code === "string") return { ok: false, hostError: false, code, message: "fetch failed", retryable: false };
    onHostFailure(error, { op: SDK_OP[request.op](request), ctx: request.ctx });
    return { ok: false, reported: true };
  }
}

// By shape as well as class, as run-session.ts does: a Host built against
// another copy of this package throws its own HostError.
function isHostError(error: unknown): error is HostError {
  if (error instanceof HostError) return true;
  return error instanceof Error && error.name === "HostError" && typeof (error as { code?: unknown }).code === "string";
}

function isPlaceholder(value: unknown): value is SecretPlaceholder {
  return value instanceof SecretPlaceholder || (value !== null && typeof value === "object" && value.constructor?.name === "SecretPlaceholder" && typeof (value as { text?: unknown }).text === "string");
}
