/**
 * Parses a bench's options with `parse` (a node:util parseArgs call). A usage
 * mistake (parseArgs' ERR_PARSE_ARGS_* codes) prints the error and the usage
 * and sets exit code 2; `--help` prints the usage. Either way it answers null
 * and the bench returns; anything else thrown is a real failure and propagates.
 */
export function parseBenchOptions<T extends { help?: boolean }>(parse: () => T, usage: string): T | null {
  let values: T;
  try {
    values = parse();
  } catch (error) {
    if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`${error.message}\n${usage}`);
      process.exitCode = 2;
      return null;
    }
    throw error;
  }
  if (values.help) {
    console.log(usage);
    return null;
  }
  return values;
}
