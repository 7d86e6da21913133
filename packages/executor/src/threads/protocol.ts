/**
 * The messages between the executor's caller thread and its executor
 * threads. Both ways they travel in batches: every run handed over in one
 * turn of the caller's event loop goes to its thread in one message, and a
 * thread sends the outcomes (and host calls) of one turn of its own loop in
 * one message back. Everything is structured-clone data.
 */
import type { ExecutorStats } from "../local-executor.ts";
import type { HostFetchRequest, RunContext, RunOutcome, ScriptLimits, SignAlgorithm } from "../types.ts";
import type { ThreadHostSpec } from "../options.ts";
import type { WireRun } from "./script-texts.ts";

/** The options a thread's executor is made with: the caller's, minus what cannot cross. */
export interface ThreadConfig {
  /** This thread's share of the memory budget. */
  isolateMemoryMb: number;
  poolSize: number;
  idleMs: number;
  defaultLimits: ScriptLimits;
  maxLimits: ScriptLimits;
  logMaxBytes: number;
  resultMaxBytes: number;
  contextsPerVersion: number;
  watchIntervalMs: number;
  maxSubrequests: number;
  fetchTimeoutMs: number;
  threadHost: ThreadHostSpec | null;
  /** Which optional Host methods the caller's host has. */
  hostHas: { signWithSecret: boolean; fetch: boolean; watchSecrets: boolean };
  /** Whether the caller wants to hear of catastrophic errors (else isolated-vm aborts). */
  catastrophic: boolean;
}

/** One host call, forwarded from a thread to the caller's Host. */
export type HostCall =
  | { op: "getSecret"; ctx: RunContext; name: string }
  | { op: "signWithSecret"; ctx: RunContext; name: string; data: Uint8Array; algorithm: SignAlgorithm; encoding: "hex" | "base64" }
  | { op: "listSecrets"; ctx: RunContext }
  | { op: "sendEmail"; ctx: RunContext; kind: "text" | "html"; message: unknown }
  | { op: "fetch"; ctx: RunContext; request: HostFetchRequest };

/** The caller's answer to one host call. */
export type HostAnswer =
  | { ok: true; value: unknown }
  /** `getSecret` answered a host-bound secret's placeholder. */
  | { ok: true; placeholder: string }
  /** An expected failure: a HostError, or an error with a string `code` (fetch). */
  | { ok: false; hostError: boolean; code: string; message: string; retryable: boolean }
  /** Anything else: already reported to `onHostFailure` on the caller's thread. */
  | { ok: false; reported: true };

/** Caller → thread. */
export type ToThread =
  /** Runs, each with or without its script's text (script-texts.ts). */
  | { t: "runs"; runs: WireRun[] }
  | { t: "answers"; answers: Array<{ call: number; answer: HostAnswer }> }
  /** Change number `generation` of `appId`'s secrets (null: any app's), announced by Host.watchSecrets (thread-secrets.ts). */
  | { t: "secrets"; generation: number; appId: string | null }
  | { t: "dispose" };

/** Thread → caller. */
export type FromThread =
  | { t: "batch"; outcomes: Array<{ id: number; outcome: RunOutcome }>; calls: Array<{ call: number; request: HostCall }>; aborts: number[]; stats: ExecutorStats | null }
  | { t: "failure"; error: { name: string; message: string; stack: string | null }; info: { op: string; ctx: RunContext } }
  /** The thread's executor is up: runs sent from here on are served. */
  | { t: "ready" }
  /** The thread could not start (its thread-host failed): it serves nothing and waits to be terminated. */
  | { t: "fatal"; error: { name: string; message: string; stack: string | null } }
  | { t: "catastrophic"; message: string }
  | { t: "closed"; stats: ExecutorStats };
