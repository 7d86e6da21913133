/**
 * A script that makes V8 give up on its isolate: recursing to the stack
 * limit and compiling a regular expression in the `catch` ends in V8's
 * fatal out-of-memory path ("RegExpCompiler Allocation failed"), which
 * node:vm answers by aborting the process and isolated-vm by parking the
 * thread for good (entry-watch.ts).
 */
export const ENGINE_CRASH_SOURCE = `export default () => {
  function deeper() {
    try { return deeper(); }
    catch { return new RegExp("(?:a|b|c)+".repeat(200)).exec("abc"); }
  }
  return deeper();
};`;
