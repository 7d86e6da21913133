/**
 * `DOMException`, which the web APIs throw (`AbortError`, `TimeoutError`,
 * `DataCloneError`, `InvalidCharacterError`, ...). INSIDE the isolate.
 */

const LEGACY_CODES: Record<string, number> = {
  IndexSizeError: 1,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  QuotaExceededError: 22,
  TimeoutError: 23,
  DataCloneError: 25,
  InvalidCharacterError: 5,
};

/** A web API's error with a `name` (WebIDL's DOMException). */
export class DOMException extends Error {
  constructor(message = "", name = "Error") {
    super(String(message));
    names.set(this, String(name));
  }
  // On the prototype, as WebIDL has it; read during construction (for the
  // stack's first line) before the name is known.
  override get name(): string {
    return names.get(this) ?? "Error";
  }
  get code(): number {
    return LEGACY_CODES[this.name] ?? 0;
  }
}

const names = new WeakMap<object, string>();
