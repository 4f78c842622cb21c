import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DecryptionError } from "../../src/errors.js";
import { Keyring } from "../../src/crypto/keyring.js";
import { Sealer, type JsonValue } from "../../src/crypto/sealer.js";

const keyring = new Keyring([
  { id: "primary", key: Buffer.alloc(32, 7) },
  { id: "old", key: Buffer.alloc(32, 9) },
]);
const sealer = new Sealer({ keyring });
const oldSealer = new Sealer({ keyring: new Keyring([{ id: "old", key: Buffer.alloc(32, 9) }]) });
const testSealer = new Sealer({ mode: "plaintext" });
const taskId = fc.string({ unit: "binary", maxLength: 40 });
const json = fc.jsonValue({ stringUnit: "binary", maxDepth: 4 }) as fc.Arbitrary<JsonValue>;

/** What JSON keeps of a value (`-0` becomes `0`). */
function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

void describe("Sealer properties", () => {
  void it("opens what it sealed: random JSON values and task ids", () => {
    fc.assert(
      fc.property(json, taskId, (value, aad) => {
        assert.deepEqual(sealer.open(sealer.seal(value, { aad }), { aad }), viaJson(value));
        assert.deepEqual(testSealer.open(testSealer.seal(value, { aad }), { aad }), viaJson(value));
      }),
      { numRuns: 300 },
    );
  });

  void it("opens what it sealed: random bytes, and re-sealing keeps them", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), taskId, (bytes, aad) => {
        const old = oldSealer.seal(bytes, { aad });
        assert.deepEqual(sealer.open(old, { aad }), Buffer.from(bytes));
        const resealed = sealer.reseal(old, { aad });
        assert.equal(sealer.needsReseal(resealed), false);
        assert.deepEqual(sealer.open(resealed, { aad }), Buffer.from(bytes));
      }),
      { numRuns: 200 },
    );
  });

  void it("refuses another task's id", () => {
    fc.assert(
      fc.property(json, taskId, taskId, (value, aad, other) => {
        fc.pre(aad !== other);
        const envelope = sealer.seal(value, { aad });
        assert.throws(() => sealer.open(envelope, { aad: other }), DecryptionError);
      }),
      { numRuns: 200 },
    );
  });

  void it("raises only DecryptionError for any corruption of an envelope", () => {
    const envelopes = fc
      .tuple(json, taskId)
      .map(([value, aad]) => ({ envelope: sealer.seal(value, { aad }), aad }));
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(envelopes, edits, fc.nat(), ({ envelope, aad }, changes, cut) => {
        const mutated = Buffer.from(envelope);
        for (const [at, mask] of changes) {
          const i = at % mutated.length;
          mutated[i] = (mutated[i] ?? 0) ^ mask;
        }
        const variants = [mutated, envelope.subarray(0, cut % envelope.length)];
        for (const variant of variants) {
          if (variant.equals(envelope)) continue;
          assert.throws(
            () => sealer.open(variant, { aad, allowPlaintext: true }),
            (error) => error instanceof DecryptionError && error.reason !== undefined,
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  void it("raises only DecryptionError for arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.throws(
          () => sealer.open(bytes, { aad: "t", allowPlaintext: true }),
          (error) => error instanceof DecryptionError && error.reason !== undefined,
        );
      }),
      { numRuns: 500 },
    );
  });
});
