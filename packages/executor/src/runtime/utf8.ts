/** UTF-8 decoding with replacement, as the Fetch Standard's "UTF-8 decode" (BOM dropped). INSIDE the isolate. */
import { TextDecoder } from "./encoding.ts";

let decoder: TextDecoder | null = null;

/** Text of UTF-8 bytes; invalid sequences become U+FFFD, a leading BOM is dropped. */
export function utf8Decode(bytes: Uint8Array): string {
  decoder ??= new TextDecoder();
  return decoder.decode(bytes);
}
