import { UnstorableInputError, findUnstorable, findUnstorableText } from "@switchyard/core";

/**
 * The manager's one guard for what a caller sends (json/storable.ts says what
 * PostgreSQL cannot hold). Each throws UnstorableInputError, which the API
 * answers with 400 `unsupported_character` / `too_deep` / `unsupported_number`
 * and `details.path`; nothing is stored.
 */

/** Path parameters and the query string: looked up or stored as text, so NUL would reach PostgreSQL. */
export function refuseUnstorableUrl(params: Record<string, string>, query: Record<string, string[]>): void {
  const problem = findUnstorable(params);
  if (problem) throw new UnstorableInputError(problem, "params");
  const queryProblem = findUnstorable(query);
  if (queryProblem) throw new UnstorableInputError(queryProblem, "query");
}

/** A parsed JSON body; its path is relative to the body (`payload.a.0`). */
export function refuseUnstorableBody(body: unknown): void {
  const problem = findUnstorable(body);
  if (problem) throw new UnstorableInputError(problem);
}

/** A body a route reads as text (a dotenv import). */
export function refuseUnstorableText(text: string): void {
  const problem = findUnstorableText(text);
  if (problem) throw new UnstorableInputError(problem, "body");
}
