import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TailBuffer } from "../../src/cli/handlers/tail-buffer.js";

void describe("TailBuffer", () => {
  void it("keeps exactly the last bytes for any chunking", () => {
    const all = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    for (const chunkSize of [1, 7, 64, 99, 100, 101, 333, 1000]) {
      const tail = new TailBuffer(100);
      for (let start = 0; start < all.length; start += chunkSize)
        tail.write(all.subarray(start, start + chunkSize));
      assert.deepEqual(tail.bytes(), all.subarray(900), `chunks of ${chunkSize}`);
      assert.equal(tail.totalBytes, 1000);
      assert.equal(tail.truncated, true);
    }
  });

  void it("returns what was written when under capacity", () => {
    const tail = new TailBuffer(16);
    tail.write(Buffer.from("hello "));
    tail.write(Buffer.from("world"));
    assert.equal(tail.text(), "hello world");
    assert.equal(tail.truncated, false);
  });

  void it("skips a UTF-8 character cut in half at the start", () => {
    const tail = new TailBuffer(5);
    tail.write(Buffer.from("xé€a")); // x, é (2 bytes), € (3 bytes), a: the tail starts inside é
    assert.equal(tail.text(), "€a");
  });
});
