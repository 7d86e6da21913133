/** Anything isolated-vm lets us free: a context, a reference, a compiled script. */
interface Releasable {
  release(): void;
}

/**
 * Frees isolated-vm handles, skipping absent ones. A handle whose isolate is
 * gone (disposed by us, or by isolated-vm at its memory limit) throws on
 * release: it has nothing left to free, so that is not an error here.
 */
export function releaseQuietly(...handles: (Releasable | null | undefined)[]): void {
  for (const handle of handles) {
    try {
      handle?.release();
    } catch {
      // Gone with its isolate.
    }
  }
}
