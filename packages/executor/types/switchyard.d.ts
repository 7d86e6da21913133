/**
 * Switchyard script types: everything a script sees in its sandbox.
 *
 * The source of truth for the editor (the dashboard loads it from
 * `GET /api/v1/sdk.d.ts`) and for script authors' own tooling. A script is
 * one module whose default export handles an event; the names below are
 * globals, so a script imports nothing. Use it with `lib: ["es2023"]` and
 * without the DOM library: the sandbox is not a browser, and these
 * declarations cover its web-standard runtime themselves.
 *
 * packages/executor/src/sdk-types.test.ts runs a script in a real isolate
 * and fails when a global name, or a member of one, exists on one side only.
 *
 * @example
 * // script.ts
 * export default (async (event, ctx) => {
 *   if (event.kind !== "http") return;
 *   const key = await secrets.get<string>("API_KEY");
 *   await email.send({ to: "ops@example.com", subject: `hook ${event.http.path}`, text: `run ${ctx.run.id}` });
 *   return { ok: key !== null };
 * }) satisfies Switchyard.Handler;
 */

/* eslint-disable no-var, @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging --
   ambient globals in lib.dom's own shape: only a `var` is a property of `typeof globalThis`; `any` where lib.dom has it
   (a JSON body, a manual payload) keeps scripts short; Request and Response take Body's members by merging, as lib.dom does. */

/* ------------------------------------------------------------------ */
/* The SDK                                                              */
/* ------------------------------------------------------------------ */

/** Types of the script contract: events, `ctx`, the SDK's arguments and answers. */
declare namespace Switchyard {
  /** Any value JSON can hold: what a secret is, what a handler may return. */
  type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

  /** The handler a script's default export is. */
  type Handler<E extends Event = Event> = (event: E, ctx: Context) => unknown;

  /** Every event a script may receive, told apart by `kind`. */
  type Event = HttpEvent | CronEvent | EmailEvent | DeadLetterEvent | ManualEvent | ConnectivityEvent | SecretChangedEvent;

  /** `event.kind`: which kind of trigger fired. */
  type EventKind = Event["kind"];

  /** A request to an `http` trigger's URL (`POST /api/v1/hooks/{triggerId}`). */
  interface HttpEvent {
    kind: "http";
    http: {
      method: string;
      path: string;
      query: Record<string, string>;
      /** Lower-case names; `authorization` and `cookie` are never passed on. */
      headers: Record<string, string>;
      /** Parsed when the request's content type is JSON, else the body as text. */
      body: Json;
    };
  }

  /** A `cron` trigger's tick. */
  interface CronEvent {
    kind: "cron";
    cron: {
      /** The trigger's schedule, as configured. */
      schedule: string;
      /** The tick this event is for (ISO 8601). */
      scheduled_at: string;
    };
  }

  /** One attachment of an inbound email. */
  interface EmailAttachment {
    filename: string | null;
    content_type: string;
    /** Decoded size in bytes, known even when the content was dropped. */
    size: number;
    /** The bytes in base64; null when the attachment cap dropped them. */
    content_base64: string | null;
  }

  /** An email to an `email` trigger, normalized from every provider. */
  interface EmailEvent {
    kind: "email";
    email: {
      /** Bare `local@domain`; display names are in `headers`. */
      from: string;
      to: string[];
      cc: string[];
      subject: string;
      text: string;
      html: string;
      message_id: string | null;
      in_reply_to: string | null;
      /** Lower-case names; a repeated header's values joined with "\n". */
      headers: Record<string, string>;
      attachments: EmailAttachment[];
      /** When the request arrived (ISO 8601). */
      received_at: string;
      /** The message as received, at `GET /api/v1/admin/apps/{app}/inbound-emails/{raw_id}`, when it was kept. */
      raw_id?: string | null;
    };
  }

  /** A failed run's error, as stored with the run. */
  interface RunError {
    name: string;
    message: string;
    stack: string | null;
    code: string | null;
    retry: { kind: "retry" } | { kind: "no_retry" } | { kind: "retry_after"; delayMs: number };
  }

  /** An event that exhausted its attempts, for a `dead_letter` trigger. */
  interface DeadLetterEvent {
    kind: "dead_letter";
    dead_letter: {
      dead_letter_id: string;
      /** The failed event, whole. */
      original: Event;
      attempts: number;
      last_error: RunError | null;
      trigger_id: string | null;
      script_id: string;
      first_attempt_at: string;
      last_attempt_at: string;
    };
  }

  /** A run asked for by `invoke` (API, CLI or dashboard): `payload` is what it was given. */
  interface ManualEvent<P = any> {
    kind: "manual";
    payload: P;
  }

  /** A destination the app fetches changed status. */
  interface ConnectivityEvent {
    kind: "connectivity";
    connectivity: {
      /** As fetched: `api.example.com`, `127.0.0.1:8080`. */
      host: string;
      from: "healthy" | "degraded" | "down";
      to: "healthy" | "degraded" | "down";
      /** When the new status began (ISO 8601). */
      since: string;
      /** The latest failure's code (`connect_failed`, `egress_timeout`, `http_503`, ...), or null. */
      last_error: string | null;
    };
  }

  /** A secret the app can read (its own, its workspace's, a global one) changed. Never carries the value. */
  interface SecretChangedEvent {
    kind: "secret_changed";
    secret_changed: {
      name: string;
      scope: "global" | "workspace" | "app";
      /** The workspace's or app's id; null for a global secret. */
      scope_id: string | null;
      /** The version the change made; for `deleted`, the last version there was. */
      version: number;
      /** `binding_changed`: the version's host binding differs from the one before (its value may have changed too). */
      action: "created" | "updated" | "binding_changed" | "rolled_back" | "deleted";
      /** Who did it: `{ type: "token", id: "tok_..." }`, or `{ type: "system", ... }`. */
      actor: { type: "token" | "run" | "system"; id: string };
    };
  }

  /** The second argument of the handler. */
  interface Context {
    app: { id: string; name: string };
    /** The trigger that fired; null for a manual run. */
    trigger: { id: string; kind: EventKind; name: string } | null;
    run: {
      id: string;
      /** 1 for the first attempt. */
      attempt: number;
      /** The same for every attempt of one event: an idempotency key (delivery is at least once). */
      event_id: string;
      /** True when the event is a replayed dead letter. */
      replay?: boolean;
    };
  }

  /** `secrets.sign` options. */
  interface SignOptions {
    /** Default `"HMAC-SHA256"`. */
    algorithm?: "HMAC-SHA256" | "HMAC-SHA512";
    /** Default `"hex"`. */
    encoding?: "hex" | "base64";
  }

  /** One address or several. */
  type Addresses = string | string[];

  /** `email.send`: plain text. */
  interface TextMessage {
    to: Addresses;
    cc?: Addresses;
    bcc?: Addresses;
    /** Default: the app's EMAIL_FROM, else the operator's sender. */
    from?: string;
    reply_to?: Addresses;
    subject: string;
    text: string;
  }

  /** `email.sendHtml`: multipart/alternative. */
  interface HtmlMessage {
    to: Addresses;
    cc?: Addresses;
    bcc?: Addresses;
    from?: string;
    reply_to?: Addresses;
    subject: string;
    html: string;
    /** The plain-text part; recommended. */
    text?: string;
  }

  /** What a send answers. */
  interface SendResult {
    message_id: string;
    accepted: string[];
    rejected: string[];
  }

  /**
   * Codes an SDK call rejects with (on the error's `code`). `rate_limited`
   * and `smtp_unavailable` are retried with the run.
   */
  type SdkErrorCode =
    | "invalid_argument"
    | "not_found"
    | "not_configured"
    | "not_ready"
    | "invalid_input"
    | "invalid_address"
    | "too_large"
    | "sender_not_allowed"
    | "recipient_not_allowed"
    | "rate_limited"
    | "smtp_unavailable"
    | "rejected"
    | "smtp_auth_failed"
    | "smtp_host_not_allowed"
    | "smtp_tls_unavailable"
    | "secret_host_mismatch"
    | "internal_error";

  /** Codes a refused or failed `fetch` rejects with (a `TypeError` with `code`). */
  type FetchErrorCode =
    | "egress_denied"
    | "egress_limit"
    | "egress_timeout"
    | "egress_too_large"
    | "egress_busy"
    | "egress_redirect_limit"
    | "redirect_error"
    | "dns_failed"
    | "connect_failed"
    | "tls_failed"
    | "secret_host_mismatch"
    | "aborted";

  /** An error an SDK call or `fetch` rejected with. */
  interface CodedError extends Error {
    code: SdkErrorCode | FetchErrorCode | (string & {});
  }

  /** `secrets`: the app's secrets (its own, then its workspace's, then global ones). */
  interface Secrets {
    /**
     * The secret's JSON value, or null when it is not set. A host-bound
     * secret answers a placeholder (`sy_bound_...`) that `fetch` replaces
     * with the value for the secret's hosts only.
     *
     * @example
     * const key = await secrets.get<string>("API_KEY");
     */
    get<T extends Json = Json>(name: string): Promise<T | null>;
    /** Names of the secrets this app can read. */
    list(): Promise<string[]>;
    /**
     * An HMAC of `data` keyed with the secret, computed on the host (the key
     * never enters the sandbox). Rejects with `not_found` when it is not set.
     *
     * @example
     * const signature = await secrets.sign("WEBHOOK_KEY", body, { encoding: "base64" });
     */
    sign(name: string, data: string | ArrayBuffer | ArrayBufferView, options?: SignOptions): Promise<string>;
  }

  /** `email`: outbound mail through the operator's or the app's SMTP server. */
  interface Email {
    /**
     * Sends a plain-text email.
     *
     * @example
     * await email.send({ to: "ops@example.com", subject: "Hi", text: "Hello" });
     */
    send(message: TextMessage): Promise<SendResult>;
    /**
     * Sends an HTML email (multipart/alternative with `text`).
     *
     * @example
     * await email.sendHtml({ to: ["a@example.com"], subject: "Hi", html: "<p>Hi</p>", text: "Hi" });
     */
    sendHtml(message: HtmlMessage): Promise<SendResult>;
  }
}

/** The app's secrets: `get`, `list`, `sign`. */
declare var secrets: Switchyard.Secrets;

/** Outbound email: `send` (text) and `sendHtml`. */
declare var email: Switchyard.Email;

/** Log lines, stored with the run (secret values masked). */
interface Console {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
}
declare var console: Console;

/**
 * Throw it to fail the run without retries: the event goes straight to a
 * dead letter.
 *
 * @example
 * if (!event.payload.id) throw new NonRetryableError("no id in the payload");
 */
declare class NonRetryableError extends Error {
  constructor(message?: string, options?: ErrorOptions);
  name: "NonRetryableError";
}

/**
 * Throw it to be retried no sooner than `delayMs` from now.
 *
 * @example
 * if (res.status === 429) throw new RetryAfterError("rate limited", 60_000);
 */
declare class RetryAfterError extends Error {
  constructor(message: string | undefined, delayMs: number, options?: ErrorOptions);
  name: "RetryAfterError";
  readonly delayMs: number;
}

/* ------------------------------------------------------------------ */
/* The web-standard runtime (WinterTC Minimum Common API)               */
/* ------------------------------------------------------------------ */

/** The global object itself. */
declare var self: typeof globalThis;

type BufferSource = ArrayBufferView | ArrayBuffer;

/** Decodes base64 into a "binary string" (one character per byte). */
declare function atob(data: string): string;
/** Encodes a "binary string" (characters up to U+00FF) as base64. */
declare function btoa(data: string): string;

/** Runs `callback` after `ms`; timers belong to the run and end with it. */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
declare function clearTimeout(id?: number): void;
declare function clearInterval(id?: number): void;
declare function queueMicrotask(callback: () => void): void;

/** A deep copy of `value` (the HTML structured clone). */
declare function structuredClone<T = any>(value: T, options?: StructuredSerializeOptions): T;
interface StructuredSerializeOptions {
  transfer?: unknown[];
}

/** UTF-8 only. */
declare class TextEncoder {
  constructor();
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): TextEncoderEncodeIntoResult;
}
interface TextEncoderEncodeIntoResult {
  read: number;
  written: number;
}

declare class TextDecoder {
  constructor(label?: string, options?: TextDecoderOptions);
  readonly encoding: string;
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  decode(input?: BufferSource, options?: TextDecodeOptions): string;
}
interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}
interface TextDecodeOptions {
  stream?: boolean;
}

/** The URL Standard's URL (whatwg-url). */
declare class URL {
  constructor(url: string | URL, base?: string | URL);
  static parse(url: string | URL, base?: string | URL): URL | null;
  static canParse(url: string | URL, base?: string | URL): boolean;
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  readonly searchParams: URLSearchParams;
  hash: string;
  toString(): string;
  toJSON(): string;
}

declare class URLSearchParams {
  constructor(init?: string[][] | Record<string, string> | string | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  toString(): string;
  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: unknown): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** A web API's error, told apart by `name` (`AbortError`, `TimeoutError`, `NotSupportedError`, ...). */
declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly name: string;
  readonly code: number;
}

interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

/** The DOM's Event, without a tree (no capture or bubble path). */
declare class Event {
  constructor(type: string, init?: EventInit);
  static readonly NONE: 0;
  static readonly CAPTURING_PHASE: 1;
  static readonly AT_TARGET: 2;
  static readonly BUBBLING_PHASE: 3;
  readonly type: string;
  readonly target: EventTarget | null;
  readonly srcElement: EventTarget | null;
  readonly currentTarget: EventTarget | null;
  readonly eventPhase: number;
  readonly bubbles: boolean;
  readonly cancelable: boolean;
  readonly composed: boolean;
  readonly defaultPrevented: boolean;
  readonly returnValue: boolean;
  cancelBubble: boolean;
  readonly isTrusted: boolean;
  readonly timeStamp: number;
  composedPath(): EventTarget[];
  preventDefault(): void;
  stopPropagation(): void;
  stopImmediatePropagation(): void;
}

type EventListenerOrEventListenerObject = ((event: Event) => void) | { handleEvent(event: Event): void };

interface AddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

declare class EventTarget {
  constructor();
  addEventListener(type: string, callback: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener(type: string, callback: EventListenerOrEventListenerObject | null, options?: boolean | { capture?: boolean }): void;
  dispatchEvent(event: Event): boolean;
}

/** Ends an operation (a `fetch`, a listener) early. */
declare class AbortSignal extends EventTarget {
  private constructor();
  /** A signal already aborted with `reason`. */
  static abort(reason?: unknown): AbortSignal;
  /** A signal that aborts with a `TimeoutError` after `ms`. */
  static timeout(ms: number): AbortSignal;
  /** A signal that aborts when any of `signals` does. */
  static any(signals: Iterable<AbortSignal>): AbortSignal;
  readonly aborted: boolean;
  readonly reason: any;
  onabort: ((event: Event) => unknown) | null;
  throwIfAborted(): void;
}

declare class AbortController {
  constructor();
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

type BlobPart = BufferSource | Blob | string;

interface BlobPropertyBag {
  type?: string;
  endings?: "native" | "transparent";
}

declare class Blob {
  constructor(parts?: Iterable<BlobPart>, options?: BlobPropertyBag);
  readonly size: number;
  readonly type: string;
  slice(start?: number, end?: number, contentType?: string): Blob;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  /** Streams are not part of this runtime: it throws. Read the blob whole. */
  stream(): never;
}

interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: number;
}

declare class File extends Blob {
  constructor(parts: Iterable<BlobPart>, name: string, options?: FilePropertyBag);
  readonly name: string;
  readonly lastModified: number;
}

type FormDataEntryValue = string | File;

declare class FormData {
  constructor();
  append(name: string, value: string | Blob, filename?: string): void;
  delete(name: string): void;
  get(name: string): FormDataEntryValue | null;
  getAll(name: string): FormDataEntryValue[];
  has(name: string): boolean;
  set(name: string, value: string | Blob, filename?: string): void;
  forEach(callback: (value: FormDataEntryValue, name: string, parent: FormData) => void, thisArg?: unknown): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<FormDataEntryValue>;
  entries(): IterableIterator<[string, FormDataEntryValue]>;
  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]>;
}

type HeadersInit = Headers | [string, string][] | Record<string, string>;

declare class Headers {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

type BodyInit = string | ArrayBuffer | ArrayBufferView | Blob | URLSearchParams | FormData;

/** What Request and Response share: a body, read whole, once. */
interface Body {
  /** Always null: streams are not part of this runtime. */
  readonly body: null;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  blob(): Promise<Blob>;
  formData(): Promise<FormData>;
  json(): Promise<any>;
  text(): Promise<string>;
}

type RequestRedirect = "follow" | "manual" | "error";

interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  redirect?: RequestRedirect;
  signal?: AbortSignal | null;
}

type RequestInfo = Request | string;

interface Request extends Body {}
declare class Request {
  constructor(input: RequestInfo | URL, init?: RequestInit);
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly redirect: RequestRedirect;
  readonly signal: AbortSignal;
  readonly credentials: string;
  readonly cache: string;
  readonly mode: string;
  clone(): Request;
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

interface Response extends Body {}
declare class Response {
  constructor(body?: BodyInit | null, init?: ResponseInit);
  static error(): Response;
  static redirect(url: string | URL, status?: number): Response;
  static json(data: unknown, init?: ResponseInit): Response;
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
  readonly type: "default" | "basic" | "error";
  clone(): Response;
}

/**
 * An HTTP request performed by the host under the egress policy. A refused
 * or failed fetch rejects with a `TypeError` whose `code` is one of
 * `Switchyard.FetchErrorCode`. Bodies are read whole (no streams).
 *
 * @example
 * const res = await fetch("https://api.example.com/items", { headers: { authorization: `Bearer ${key}` } });
 * const items = await res.json();
 */
declare function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;

declare class Performance {
  private constructor();
  readonly timeOrigin: number;
  /** Milliseconds since `timeOrigin`. */
  now(): number;
  toJSON(): { timeOrigin: number };
}
declare var performance: Performance;

/* Web Crypto: digest, HMAC, AES, ECDSA, Ed25519, HKDF, PBKDF2 and more, run on the host. */

interface Algorithm {
  name: string;
}
type AlgorithmIdentifier = Algorithm | string;
type HashAlgorithmIdentifier = AlgorithmIdentifier;
type KeyFormat = "jwk" | "pkcs8" | "raw" | "spki";
type KeyType = "private" | "public" | "secret";
type KeyUsage = "decrypt" | "deriveBits" | "deriveKey" | "encrypt" | "sign" | "unwrapKey" | "verify" | "wrapKey";
type NamedCurve = string;

interface KeyAlgorithm {
  name: string;
}
interface HmacImportParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
  length?: number;
}
interface HmacKeyGenParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
  length?: number;
}
interface AesKeyGenParams extends Algorithm {
  length: number;
}
interface AesKeyAlgorithm extends KeyAlgorithm {
  length: number;
}
interface AesDerivedKeyParams extends Algorithm {
  length: number;
}
interface AesGcmParams extends Algorithm {
  iv: BufferSource;
  additionalData?: BufferSource;
  tagLength?: number;
}
interface AesCbcParams extends Algorithm {
  iv: BufferSource;
}
interface AesCtrParams extends Algorithm {
  counter: BufferSource;
  length: number;
}
interface EcKeyGenParams extends Algorithm {
  namedCurve: NamedCurve;
}
interface EcKeyImportParams extends Algorithm {
  namedCurve: NamedCurve;
}
interface EcdsaParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
}
interface EcdhKeyDeriveParams extends Algorithm {
  public: CryptoKey;
}
interface HkdfParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
  salt: BufferSource;
  info: BufferSource;
}
interface Pbkdf2Params extends Algorithm {
  hash: HashAlgorithmIdentifier;
  salt: BufferSource;
  iterations: number;
}
interface RsaHashedKeyGenParams extends Algorithm {
  modulusLength: number;
  publicExponent: Uint8Array;
  hash: HashAlgorithmIdentifier;
}
interface RsaHashedImportParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
}
interface RsaPssParams extends Algorithm {
  saltLength: number;
}
interface RsaOaepParams extends Algorithm {
  label?: BufferSource;
}
interface RsaOtherPrimesInfo {
  d?: string;
  r?: string;
  t?: string;
}
interface JsonWebKey {
  alg?: string;
  crv?: string;
  d?: string;
  dp?: string;
  dq?: string;
  e?: string;
  ext?: boolean;
  k?: string;
  key_ops?: string[];
  kty?: string;
  n?: string;
  oth?: RsaOtherPrimesInfo[];
  p?: string;
  q?: string;
  qi?: string;
  use?: string;
  x?: string;
  y?: string;
}
interface CryptoKeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** A key `crypto.subtle` made; its material stays on the host. */
declare class CryptoKey {
  private constructor();
  readonly type: KeyType;
  readonly extractable: boolean;
  readonly algorithm: KeyAlgorithm & Record<string, unknown>;
  readonly usages: KeyUsage[];
}

type ImportAlgorithm = AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams | HmacImportParams | AesKeyAlgorithm;
type DerivedKeyAlgorithm = AlgorithmIdentifier | AesDerivedKeyParams | HmacImportParams | HkdfParams | Pbkdf2Params;

/** Web Crypto, bounded per call and per run (`NotSupportedError`, `QuotaExceededError` past a limit). */
declare class SubtleCrypto {
  private constructor();
  digest(algorithm: AlgorithmIdentifier, data: BufferSource): Promise<ArrayBuffer>;
  encrypt(algorithm: AlgorithmIdentifier | RsaOaepParams | AesCtrParams | AesCbcParams | AesGcmParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  decrypt(algorithm: AlgorithmIdentifier | RsaOaepParams | AesCtrParams | AesCbcParams | AesGcmParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  sign(algorithm: AlgorithmIdentifier | RsaPssParams | EcdsaParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  verify(algorithm: AlgorithmIdentifier | RsaPssParams | EcdsaParams, key: CryptoKey, signature: BufferSource, data: BufferSource): Promise<boolean>;
  generateKey(algorithm: "Ed25519" | { name: "Ed25519" } | RsaHashedKeyGenParams | EcKeyGenParams, extractable: boolean, keyUsages: readonly KeyUsage[]): Promise<CryptoKeyPair>;
  generateKey(algorithm: AesKeyGenParams | HmacKeyGenParams | Pbkdf2Params, extractable: boolean, keyUsages: readonly KeyUsage[]): Promise<CryptoKey>;
  generateKey(algorithm: AlgorithmIdentifier, extractable: boolean, keyUsages: KeyUsage[]): Promise<CryptoKeyPair | CryptoKey>;
  importKey(format: "jwk", keyData: JsonWebKey, algorithm: ImportAlgorithm, extractable: boolean, keyUsages: readonly KeyUsage[]): Promise<CryptoKey>;
  importKey(format: Exclude<KeyFormat, "jwk">, keyData: BufferSource, algorithm: ImportAlgorithm, extractable: boolean, keyUsages: KeyUsage[]): Promise<CryptoKey>;
  exportKey(format: "jwk", key: CryptoKey): Promise<JsonWebKey>;
  exportKey(format: Exclude<KeyFormat, "jwk">, key: CryptoKey): Promise<ArrayBuffer>;
  deriveBits(algorithm: AlgorithmIdentifier | EcdhKeyDeriveParams | HkdfParams | Pbkdf2Params, baseKey: CryptoKey, length?: number | null): Promise<ArrayBuffer>;
  deriveKey(algorithm: AlgorithmIdentifier | EcdhKeyDeriveParams | HkdfParams | Pbkdf2Params, baseKey: CryptoKey, derivedKeyType: DerivedKeyAlgorithm, extractable: boolean, keyUsages: KeyUsage[]): Promise<CryptoKey>;
  wrapKey(format: KeyFormat, key: CryptoKey, wrappingKey: CryptoKey, wrapAlgorithm: AlgorithmIdentifier | RsaOaepParams | AesCtrParams | AesCbcParams | AesGcmParams): Promise<ArrayBuffer>;
  unwrapKey(
    format: KeyFormat,
    wrappedKey: BufferSource,
    unwrappingKey: CryptoKey,
    unwrapAlgorithm: AlgorithmIdentifier | RsaOaepParams | AesCtrParams | AesCbcParams | AesGcmParams,
    unwrappedKeyAlgorithm: ImportAlgorithm,
    extractable: boolean,
    keyUsages: KeyUsage[],
  ): Promise<CryptoKey>;
}

declare class Crypto {
  private constructor();
  readonly subtle: SubtleCrypto;
  /** Fills an integer typed array (at most 65,536 bytes) with random values. */
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
}
declare var crypto: Crypto;
