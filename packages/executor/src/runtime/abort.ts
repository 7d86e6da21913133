/**
 * `AbortController` and `AbortSignal` (`abort`, `timeout`, `any`), INSIDE
 * the isolate. `AbortSignal.timeout` runs on the run's own timers, so it is
 * cancelled with them when the run ends.
 */
import { DOMException } from "./dom-exception.ts";
import { Event, EventTarget } from "./events.ts";
import { setTimeout } from "./timers.ts";

interface SignalState {
  aborted: boolean;
  reason: unknown;
  onabort: ((event: Event) => unknown) | null;
  /** Signals made by `AbortSignal.any` over this one. */
  dependents: Set<AbortSignal>;
}

const signals = new WeakMap<object, SignalState>();
// Only this module makes signals: `new AbortSignal()` throws, as in browsers.
let constructing = false;

function stateOf(signal: unknown): SignalState {
  const state = signals.get(signal as object);
  if (!state) throw new TypeError("Illegal invocation: not an AbortSignal");
  return state;
}

function makeSignal(): AbortSignal {
  constructing = true;
  try {
    return new AbortSignal();
  } finally {
    constructing = false;
  }
}

function signalAbort(signal: AbortSignal, reason: unknown): void {
  const state = stateOf(signal);
  if (state.aborted) return;
  state.aborted = true;
  state.reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
  const event = new Event("abort");
  try {
    state.onabort?.call(signal, event);
  } catch {
    // A throwing handler does not stop the others.
  }
  signal.dispatchEvent(event);
  for (const dependent of state.dependents) signalAbort(dependent, state.reason);
  state.dependents.clear();
}

/** A signal that an operation should stop. */
export class AbortSignal extends EventTarget {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
    super();
    signals.set(this, { aborted: false, reason: undefined, onabort: null, dependents: new Set() });
  }

  /** A signal that is already aborted with `reason`. */
  static abort(reason?: unknown): AbortSignal {
    const signal = makeSignal();
    signalAbort(signal, reason);
    return signal;
  }

  /** A signal that aborts with a `TimeoutError` after `ms` milliseconds. */
  static timeout(ms: number): AbortSignal {
    const delay = Number(ms);
    if (!Number.isFinite(delay) || delay < 0) throw new TypeError("AbortSignal.timeout: ms must be a non-negative number");
    const signal = makeSignal();
    setTimeout(() => signalAbort(signal, new DOMException("The operation timed out", "TimeoutError")), delay);
    return signal;
  }

  /** A signal that aborts as soon as any of `signals` does, with its reason. */
  static any(list: Iterable<AbortSignal>): AbortSignal {
    const signal = makeSignal();
    const sources = [...list];
    for (const source of sources) {
      const state = stateOf(source);
      if (state.aborted) {
        signalAbort(signal, state.reason);
        return signal;
      }
    }
    for (const source of sources) stateOf(source).dependents.add(signal);
    return signal;
  }

  get aborted(): boolean {
    return stateOf(this).aborted;
  }
  get reason(): unknown {
    return stateOf(this).reason;
  }
  get onabort(): ((event: Event) => unknown) | null {
    return stateOf(this).onabort;
  }
  set onabort(handler: ((event: Event) => unknown) | null) {
    stateOf(this).onabort = typeof handler === "function" ? handler : null;
  }
  throwIfAborted(): void {
    const state = stateOf(this);
    if (state.aborted) throw state.reason;
  }
}

/** Makes and aborts an `AbortSignal`. */
export class AbortController {
  readonly #signal = makeSignal();
  get signal(): AbortSignal {
    return this.#signal;
  }
  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }
}
