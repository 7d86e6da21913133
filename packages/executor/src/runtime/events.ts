/**
 * `Event` and `EventTarget` (the DOM Standard without a tree: no capture or
 * bubble path), INSIDE the isolate.
 */

/** `new Event(type, init)` options. */
export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

interface EventState {
  type: string;
  bubbles: boolean;
  cancelable: boolean;
  composed: boolean;
  canceled: boolean;
  stop: boolean;
  stopImmediate: boolean;
  dispatching: boolean;
  target: EventTarget | null;
  currentTarget: EventTarget | null;
  timeStamp: number;
  inPassiveListener: boolean;
}

const events = new WeakMap<object, EventState>();

function stateOf(event: unknown): EventState {
  const state = events.get(event as object);
  if (!state) throw new TypeError("Illegal invocation: not an Event");
  return state;
}

/** An event that an `EventTarget` dispatches. */
export class Event {
  static readonly NONE = 0;
  static readonly CAPTURING_PHASE = 1;
  static readonly AT_TARGET = 2;
  static readonly BUBBLING_PHASE = 3;

  constructor(type: unknown, init?: EventInit | null) {
    if (arguments.length === 0) throw new TypeError("Event: 1 argument required");
    events.set(this, {
      type: String(type),
      bubbles: Boolean(init?.bubbles),
      cancelable: Boolean(init?.cancelable),
      composed: Boolean(init?.composed),
      canceled: false,
      stop: false,
      stopImmediate: false,
      dispatching: false,
      target: null,
      currentTarget: null,
      timeStamp: Date.now(),
      inPassiveListener: false,
    });
  }
  get type(): string {
    return stateOf(this).type;
  }
  get target(): EventTarget | null {
    return stateOf(this).target;
  }
  get srcElement(): EventTarget | null {
    return stateOf(this).target;
  }
  get currentTarget(): EventTarget | null {
    return stateOf(this).currentTarget;
  }
  get eventPhase(): number {
    return stateOf(this).dispatching ? Event.AT_TARGET : Event.NONE;
  }
  get bubbles(): boolean {
    return stateOf(this).bubbles;
  }
  get cancelable(): boolean {
    return stateOf(this).cancelable;
  }
  get composed(): boolean {
    return stateOf(this).composed;
  }
  get defaultPrevented(): boolean {
    return stateOf(this).canceled;
  }
  get returnValue(): boolean {
    return !stateOf(this).canceled;
  }
  get cancelBubble(): boolean {
    return stateOf(this).stop;
  }
  set cancelBubble(value: boolean) {
    if (value) stateOf(this).stop = true;
  }
  get isTrusted(): boolean {
    return false;
  }
  get timeStamp(): number {
    return stateOf(this).timeStamp;
  }
  composedPath(): EventTarget[] {
    const { currentTarget } = stateOf(this);
    return currentTarget ? [currentTarget] : [];
  }
  preventDefault(): void {
    const state = stateOf(this);
    if (state.cancelable && !state.inPassiveListener) state.canceled = true;
  }
  stopPropagation(): void {
    stateOf(this).stop = true;
  }
  stopImmediatePropagation(): void {
    const state = stateOf(this);
    state.stop = true;
    state.stopImmediate = true;
  }
}

type Listener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };

interface Registration {
  callback: Listener;
  capture: boolean;
  once: boolean;
  passive: boolean;
  removed: boolean;
}

/** `addEventListener` options. */
export interface AddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignalLike;
}

/** What `addEventListener` needs of an `AbortSignal`, without importing it (it extends EventTarget). */
interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
}

const listeners = new WeakMap<object, Map<string, Registration[]>>();

function listenersOf(target: unknown): Map<string, Registration[]> {
  const map = listeners.get(target as object);
  if (!map) throw new TypeError("Illegal invocation: not an EventTarget");
  return map;
}

/** Reports an exception thrown by a listener without stopping the dispatch, as the DOM does. */
function report(error: unknown): void {
  try {
    (globalThis as { console?: { error?: (...args: unknown[]) => void } }).console?.error?.("Uncaught (in event listener)", error);
  } catch {
    // Nothing left to report to.
  }
}

/** Something events are dispatched to. */
export class EventTarget {
  constructor() {
    listeners.set(this, new Map());
  }

  addEventListener(type: unknown, callback: Listener | null | undefined, options?: boolean | AddEventListenerOptions | null): void {
    const map = listenersOf(this);
    if (callback === null || callback === undefined) return;
    const opts = typeof options === "object" && options !== null ? options : { capture: Boolean(options) };
    const signal = opts.signal;
    if (signal?.aborted) return;
    const name = String(type);
    const capture = Boolean(opts.capture);
    const list = map.get(name) ?? [];
    if (list.some((r) => r.callback === callback && r.capture === capture)) return;
    const registration: Registration = { callback, capture, once: Boolean(opts.once), passive: Boolean(opts.passive), removed: false };
    list.push(registration);
    map.set(name, list);
    signal?.addEventListener("abort", () => this.removeEventListener(name, callback, { capture }), { once: true });
  }

  removeEventListener(type: unknown, callback: Listener | null | undefined, options?: boolean | { capture?: boolean } | null): void {
    const map = listenersOf(this);
    const capture = typeof options === "object" && options !== null ? Boolean(options.capture) : Boolean(options);
    const name = String(type);
    const list = map.get(name);
    if (!list) return;
    const at = list.findIndex((r) => r.callback === callback && r.capture === capture);
    if (at < 0) return;
    (list[at] as Registration).removed = true;
    list.splice(at, 1);
  }

  dispatchEvent(event: Event): boolean {
    const map = listenersOf(this);
    const state = events.get(event);
    if (!state) throw new TypeError("EventTarget.dispatchEvent: argument is not an Event");
    if (state.dispatching) throw new TypeError("EventTarget.dispatchEvent: the event is already being dispatched");
    state.dispatching = true;
    state.target = this;
    state.currentTarget = this;
    try {
      const list = map.get(state.type);
      for (const registration of list ? [...list] : []) {
        if (registration.removed) continue;
        if (registration.once) this.removeEventListener(state.type, registration.callback, { capture: registration.capture });
        state.inPassiveListener = registration.passive;
        try {
          const callback = registration.callback;
          if (typeof callback === "function") callback.call(this, event);
          else callback.handleEvent(event);
        } catch (error) {
          report(error);
        }
        state.inPassiveListener = false;
        if (state.stopImmediate) break;
      }
    } finally {
      state.dispatching = false;
      state.currentTarget = null;
      state.stop = false;
      state.stopImmediate = false;
    }
    return !state.canceled;
  }
}
