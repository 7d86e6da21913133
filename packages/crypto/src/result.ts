/**
 * The outcome of something expected to fail sometimes (a parse, a signature
 * check): callers branch on `ok` instead of catching. Throw only for what
 * should not happen.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };
