import type { EmailAttachment } from "./types.ts";

/**
 * Spends `maxAttachmentBytes` on attachment content in the order attachments
 * arrive: one that still fits keeps its base64, one that does not keeps only
 * filename, type and size (a later, smaller one may still fit). The cap keeps
 * the event (a queue row) small; the full message stays in the raw copy.
 */
export class AttachmentBudget {
  #remaining: number;

  constructor(maxBytes: number) {
    this.#remaining = Math.max(0, maxBytes);
  }

  /** Whether `size` more bytes would still fit; lets a streaming reader stop buffering early. */
  fits(size: number): boolean {
    return size <= this.#remaining;
  }

  /** Records one attachment; `content` null means its bytes were not kept (too big while streaming). */
  add(filename: string | null | undefined, contentType: string | null | undefined, size: number, content: Buffer | null): EmailAttachment {
    let content_base64: string | null = null;
    if (content && this.fits(content.length)) {
      this.#remaining -= content.length;
      content_base64 = content.toString("base64");
    }
    return {
      filename: filename === undefined || filename === "" ? null : filename,
      content_type: (contentType ?? "").trim().toLowerCase() || "application/octet-stream",
      size,
      content_base64,
    };
  }
}
