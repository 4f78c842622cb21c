/** Default capacity of a {@link TailBuffer}: 64 KiB. */
export const DEFAULT_TAIL_BYTES = 64 * 1024;

/**
 * Keeps the last `capacity` bytes written to it, in a fixed ring, however much
 * is written: memory stays at `capacity` bytes for any output size.
 */
export class TailBuffer {
  readonly #ring: Buffer;
  /** Next write position in the ring. */
  #end = 0;
  #total = 0;

  constructor(capacity: number = DEFAULT_TAIL_BYTES) {
    this.#ring = Buffer.alloc(capacity);
  }

  /** Bytes written so far, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Whether earlier bytes were dropped. */
  get truncated(): boolean {
    return this.#total > this.#ring.length;
  }

  /** Appends bytes, dropping the oldest beyond the capacity. */
  write(chunk: Buffer): void {
    const capacity = this.#ring.length;
    this.#total += chunk.length;
    if (capacity === 0) return;
    const data = chunk.length > capacity ? chunk.subarray(chunk.length - capacity) : chunk;
    const first = Math.min(data.length, capacity - this.#end);
    data.copy(this.#ring, this.#end, 0, first);
    data.copy(this.#ring, 0, first);
    this.#end = (this.#end + data.length) % capacity;
  }

  /** The kept bytes, oldest first. */
  bytes(): Buffer {
    const capacity = this.#ring.length;
    if (this.#total < capacity) return Buffer.from(this.#ring.subarray(0, this.#total));
    return Buffer.concat([this.#ring.subarray(this.#end), this.#ring.subarray(0, this.#end)]);
  }

  /**
   * The kept bytes as UTF-8. When bytes were dropped, a character cut in half
   * at the start is skipped rather than shown as a replacement character.
   */
  text(): string {
    let bytes = this.bytes();
    if (this.truncated) {
      let skip = 0;
      // Continuation bytes are 0b10xxxxxx; a UTF-8 character has at most 3 of them.
      while (skip < 3 && skip < bytes.length && ((bytes[skip] ?? 0) & 0xc0) === 0x80) skip++;
      bytes = bytes.subarray(skip);
    }
    return bytes.toString("utf8");
  }
}
