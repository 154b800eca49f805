// A cap on one model answer, enforced while it streams: `num_predict` (a server may ignore it, and an
// OpenAI-compatible one may not support it) and a byte cap. A capped answer is cut, its stream closed,
// and the result says so (doneReason "length", `truncated`), so a 10 MB answer never becomes a 20 MB
// Outcome line or a 30 MB dataset record.

/** Most bytes one answer may have, whatever num_predict says. */
export const MAX_ANSWER_BYTES = 256 * 1024;

export class AnswerCap {
  private chunks = 0;
  private chars = 0;
  private bytes = 0;
  /** Why the answer was cut, once it was. */
  truncated: string | undefined;

  constructor(
    private readonly maxTokens: number | undefined,
    private readonly maxBytes = MAX_ANSWER_BYTES,
  ) {}

  /**
   * Takes the next streamed piece; returns the part of it to keep. After a piece that reaches a cap,
   * `truncated` is set and the caller stops reading (and closes the stream).
   */
  take(piece: string): string {
    if (this.truncated) return '';
    this.chunks++;
    this.chars += piece.length;
    const size = Buffer.byteLength(piece, 'utf8');
    if (this.bytes + size > this.maxBytes) {
      const room = Math.max(0, this.maxBytes - this.bytes);
      const kept = Buffer.from(piece, 'utf8')
        .subarray(0, room)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
      this.bytes += Buffer.byteLength(kept, 'utf8');
      this.truncated = `the answer was cut at ${this.maxBytes} bytes (the byte cap of one answer)`;
      return kept;
    }
    this.bytes += size;
    // A streamed chunk is one token on Ollama (which stops at num_predict itself); a server sending bigger chunks
    // is held to about 4 characters a token. The estimate is rough, so the cut comes at twice num_predict: only
    // a server that ignores num_predict reaches it.
    const tokens = Math.max(this.chunks, Math.ceil(this.chars / 4));
    if (this.maxTokens !== undefined && this.maxTokens > 0 && tokens > 2 * this.maxTokens) {
      this.truncated = `the answer was cut: it ran far past num_predict (${this.maxTokens} tokens) and the server did not stop it`;
    }
    return piece;
  }
}
