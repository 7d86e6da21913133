/**
 * A problem that stops the command before it does any work, with a message for
 * the operator. Exit code 78 is EX_CONFIG from sysexits.h.
 */
export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    message: string,
    readonly exitCode = 78,
  ) {
    super(message);
  }
}
