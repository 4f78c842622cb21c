import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  DecryptionError,
  InvalidArgumentError,
  type DecryptionFailureReason,
} from "../../src/errors.js";
import {
  ENVELOPE_FORMAT,
  IV_LENGTH,
  TAG_LENGTH,
  inspectEnvelope,
} from "../../src/crypto/envelope.js";
import { Keyring, createEphemeralKeyring } from "../../src/crypto/keyring.js";
import { Sealer, needsReseal, type OpenOptions } from "../../src/crypto/sealer.js";

const KEY_A = Buffer.alloc(32, 0xa1);
const KEY_B = Buffer.alloc(32, 0xb2);
const RECORD = { handler: "send-report", payload: { to: "ops@example.com", secret: "hunter2" } };

function sealerWith(...entries: { id: string; key: Uint8Array }[]): Sealer {
  return new Sealer({ keyring: new Keyring(entries) });
}

/** Asserts that `fn` throws a DecryptionError whose reason is one of `reasons`; returns it. */
function assertDecryptionError(
  fn: () => unknown,
  ...reasons: DecryptionFailureReason[]
): DecryptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DecryptionError, `expected a DecryptionError, got ${String(caught)}`);
  assert.equal(caught.code, "ERR_DECRYPTION");
  if (reasons.length > 0) {
    assert.ok(
      caught.reason !== undefined && reasons.includes(caught.reason),
      `reason ${String(caught.reason)} is not one of ${reasons.join(", ")}: ${caught.message}`,
    );
  }
  return caught;
}

void describe("Sealer (encrypted mode)", () => {
  const sealer = sealerWith({ id: "k1", key: KEY_A });
  const opts: OpenOptions = { aad: "task-1" };

  void it("round-trips JSON values and bytes", () => {
    for (const value of [RECORD, null, 0, "", "text", [1, "two", { three: 3 }], true]) {
      assert.deepEqual(sealer.open(sealer.seal(value, opts), opts), value);
    }
    for (const bytes of [Buffer.alloc(0), randomBytes(1), randomBytes(1000)]) {
      const opened = sealer.open(sealer.seal(bytes, opts), opts);
      assert.ok(Buffer.isBuffer(opened));
      assert.deepEqual(opened, bytes);
    }
    // A view into a larger buffer seals only its own bytes.
    const backing = Buffer.from("xxhelloxx");
    assert.deepEqual(
      sealer.open(sealer.seal(backing.subarray(2, 7), opts), opts),
      Buffer.from("hello"),
    );
    // The plain Uint8Array subclass is sealed as bytes too.
    assert.deepEqual(
      sealer.open(sealer.seal(Uint8Array.of(1, 2, 3), opts), opts),
      Buffer.from([1, 2, 3]),
    );
  });

  void it("accepts bytes as AAD", () => {
    const aad = randomBytes(16);
    assert.deepEqual(sealer.open(sealer.seal(RECORD, { aad }), { aad }), RECORD);
    assertDecryptionError(
      () => sealer.open(sealer.seal(RECORD, { aad }), { aad: Buffer.alloc(16) }),
      "authentication-failed",
    );
  });

  void it("uses a fresh IV for every seal: two seals of the same record differ", () => {
    const seen = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const envelope = sealer.seal(RECORD, opts);
      seen.add(envelope.toString("hex"));
      ivs.add(envelope.subarray(5, 5 + IV_LENGTH).toString("hex"));
    }
    assert.equal(seen.size, 200);
    assert.equal(ivs.size, 200);
  });

  void it("writes the documented envelope: format, content type, key id, IV, ciphertext, tag", () => {
    const envelope = sealer.seal("abc", opts);
    assert.equal(envelope[0], ENVELOPE_FORMAT.sealedV1);
    assert.equal(envelope[1], 0x01); // JSON
    assert.equal(envelope[2], 2); // key id length
    assert.equal(envelope.subarray(3, 5).toString("latin1"), "k1");
    // header 5 + IV 12 + ciphertext of '"abc"' (5) + tag 16
    assert.equal(envelope.length, 5 + IV_LENGTH + 5 + TAG_LENGTH);
    assert.deepEqual(inspectEnvelope(envelope), {
      format: "sealed",
      version: 1,
      content: "json",
      keyId: "k1",
    });
    assert.equal(sealer.seal(Buffer.from("x"), opts)[1], 0x00); // bytes
  });

  void it("does not leave the record readable in the envelope", () => {
    const envelope = sealer.seal(RECORD, opts);
    assert.equal(envelope.includes("hunter2"), false);
    assert.equal(envelope.includes("send-report"), false);
  });

  void it("fails with DecryptionError when any single byte of the envelope is changed", () => {
    const envelope = sealer.seal(RECORD, opts);
    const lenient = new Sealer({
      keyring: new Keyring([{ id: "k1", key: KEY_A }]),
      allowPlaintext: true,
    });
    for (let position = 0; position < envelope.length; position++) {
      // Every possible value in the header; three flips elsewhere.
      const masks =
        position < 5 ? Array.from({ length: 255 }, (_, i) => i + 1) : [0x01, 0x80, 0xff];
      for (const mask of masks) {
        const tampered = Buffer.from(envelope);
        tampered[position] = (tampered[position] ?? 0) ^ mask;
        for (const s of [sealer, lenient]) {
          const error = assertDecryptionError(() => s.open(tampered, opts));
          assert.notEqual(error.reason, "plaintext-refused", `position ${position} mask ${mask}`);
        }
      }
    }
  });

  void it("reports a changed body byte as an authentication failure naming the key id", () => {
    const envelope = sealer.seal(RECORD, opts);
    envelope[envelope.length - TAG_LENGTH - 1]! ^= 1;
    const error = assertDecryptionError(() => sealer.open(envelope, opts), "authentication-failed");
    assert.equal(error.keyId, "k1");
    assert.match(error.message, /Authentication failed/);
    assert.match(error.message, /"task-1"/);
    assert.ok(error.cause instanceof Error, "the crypto error is kept as the cause");
  });

  void it("fails with DecryptionError for every truncation and for appended bytes", () => {
    const envelope = sealer.seal(RECORD, opts);
    for (let length = 0; length < envelope.length; length++) {
      assertDecryptionError(
        () => sealer.open(envelope.subarray(0, length), opts),
        "malformed",
        "authentication-failed",
      );
    }
    assertDecryptionError(() => sealer.open(envelope.subarray(0, 3), opts), "malformed");
    assertDecryptionError(
      () => sealer.open(Buffer.concat([envelope, Buffer.of(0)]), opts),
      "authentication-failed",
    );
  });

  void it("refuses a record moved to another task (swapped AAD)", () => {
    const recordOfA = sealer.seal({ handler: "a" }, { aad: "task-a" });
    const recordOfB = sealer.seal({ handler: "b" }, { aad: "task-b" });
    assertDecryptionError(() => sealer.open(recordOfA, { aad: "task-b" }), "authentication-failed");
    assertDecryptionError(() => sealer.open(recordOfB, { aad: "task-a" }), "authentication-failed");
    // Prefixes and suffixes of the task id are other tasks too.
    assertDecryptionError(() => sealer.open(recordOfA, { aad: "task-" }), "authentication-failed");
    assertDecryptionError(
      () => sealer.open(recordOfA, { aad: "task-aa" }),
      "authentication-failed",
    );
    assertDecryptionError(() => sealer.open(recordOfA, { aad: "" }), "authentication-failed");
  });

  void it("fails authentication with a wrong key under the same id", () => {
    const envelope = sealer.seal(RECORD, opts);
    const impostor = sealerWith({ id: "k1", key: KEY_B });
    const error = assertDecryptionError(
      () => impostor.open(envelope, opts),
      "authentication-failed",
    );
    assert.equal(error.keyId, "k1");
  });

  void it("reports a key id that is not in the keyring as unknown-key", () => {
    const envelope = sealer.seal(RECORD, opts);
    const other = sealerWith({ id: "k2", key: KEY_A }, { id: "k3", key: KEY_B });
    const error = assertDecryptionError(() => other.open(envelope, opts), "unknown-key");
    assert.equal(error.keyId, "k1");
    assert.match(error.message, /Unknown key id "k1"/);
    assert.match(error.message, /"k2", "k3"/);
  });

  void it("reports garbage, empty input and non-bytes as malformed", () => {
    assertDecryptionError(() => sealer.open(Buffer.alloc(0), opts), "malformed");
    assertDecryptionError(() => sealer.open(Buffer.from('{"handler":"x"}'), opts), "malformed");
    assertDecryptionError(() => sealer.open(Buffer.from([0xe1]), opts), "malformed");
    assertDecryptionError(() => sealer.open(Buffer.from([0xe1, 0x01, 0]), opts), "malformed");
    assertDecryptionError(() => sealer.open(Buffer.from([0xe1, 0x01, 200]), opts), "malformed");
    assertDecryptionError(() => sealer.open(Buffer.from([0xe1, 0x07, 2]), opts), "malformed");
    const notBytes: unknown[] = [null, undefined, "e1", 42, {}, [0xe1]];
    for (const value of notBytes) {
      assertDecryptionError(() => sealer.open(value as Uint8Array, opts), "malformed");
    }
  });

  void it("reports an unknown format of a known family as unsupported-version", () => {
    const envelope = sealer.seal(RECORD, opts);
    envelope[0] = 0xe2;
    const error = assertDecryptionError(() => sealer.open(envelope, opts), "unsupported-version");
    assert.match(error.message, /0xe2/);
    assertDecryptionError(
      () => sealer.open(Buffer.from([0x51, 1, 2, 3]), opts),
      "unsupported-version",
    );
  });

  void it("rejects a missing AAD and values that are not JSON with InvalidArgumentError", () => {
    assert.throws(() => sealer.seal(RECORD, {} as OpenOptions), InvalidArgumentError);
    assert.throws(
      () => sealer.open(sealer.seal(RECORD, opts), { aad: 7 } as unknown as OpenOptions),
      (error) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.argument, "aad");
        return true;
      },
    );
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [undefined, () => 1, 10n, cycle, new Uint16Array(2), new ArrayBuffer(4)]) {
      assert.throws(() => sealer.seal(bad as never, opts), InvalidArgumentError);
    }
  });

  void it("requires a keyring in encrypted mode", () => {
    assert.throws(() => new Sealer({}), /Expected `keyring`/);
    assert.throws(() => new Sealer({ keyring: "k" as unknown as Keyring }), InvalidArgumentError);
    assert.throws(() => new Sealer({ mode: "cleartext" as "plaintext" }), InvalidArgumentError);
  });

  void it("works with an ephemeral keyring, which another ephemeral keyring cannot open", () => {
    const one = new Sealer({ keyring: createEphemeralKeyring() });
    const two = new Sealer({ keyring: createEphemeralKeyring() });
    const envelope = one.seal(RECORD, opts);
    assert.deepEqual(one.open(envelope, opts), RECORD);
    assertDecryptionError(() => two.open(envelope, opts), "unknown-key");
  });
});

void describe("Sealer key rotation", () => {
  const opts = { aad: "task-1" };

  void it("opens with old keys, seals with the primary, and knows what needs re-sealing", () => {
    const before = sealerWith({ id: "old", key: KEY_A });
    const oldEnvelope = before.seal(RECORD, opts);

    const rotated = new Keyring([
      { id: "new", key: KEY_B },
      { id: "old", key: KEY_A },
    ]);
    const after = new Sealer({ keyring: rotated });
    assert.deepEqual(after.open(oldEnvelope, opts), RECORD);
    assert.equal(after.needsReseal(oldEnvelope), true);
    assert.equal(needsReseal(oldEnvelope, rotated), true);

    const newEnvelope = after.reseal(oldEnvelope, opts);
    assert.equal(inspectEnvelope(newEnvelope).format, "sealed");
    assert.equal((inspectEnvelope(newEnvelope) as { keyId: string }).keyId, "new");
    assert.equal(after.needsReseal(newEnvelope), false);
    assert.deepEqual(after.open(newEnvelope, opts), RECORD);
    // The old envelope still opens until the old key is removed: an interrupted rotation loses nothing.
    assert.deepEqual(after.open(oldEnvelope, opts), RECORD);

    const retired = sealerWith({ id: "new", key: KEY_B });
    assert.deepEqual(retired.open(newEnvelope, opts), RECORD);
    assertDecryptionError(() => retired.open(oldEnvelope, opts), "unknown-key");
  });

  void it("re-seals byte records byte for byte and keeps the AAD binding", () => {
    const keyring = new Keyring([
      { id: "new", key: KEY_B },
      { id: "old", key: KEY_A },
    ]);
    const bytes = randomBytes(64);
    const oldEnvelope = sealerWith({ id: "old", key: KEY_A }).seal(bytes, opts);
    const sealer = new Sealer({ keyring });
    const resealed = sealer.reseal(oldEnvelope, opts);
    assert.deepEqual(sealer.open(resealed, opts), bytes);
    assertDecryptionError(() => sealer.open(resealed, { aad: "task-2" }), "authentication-failed");
    assertDecryptionError(
      () => sealer.reseal(oldEnvelope, { aad: "task-2" }),
      "authentication-failed",
    );
  });

  void it("rotates a whole set resumably: re-seal until needsReseal is false everywhere", () => {
    const oldSealer = sealerWith({ id: "old", key: KEY_A });
    const records = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++)
      records.set(`task-${i}`, oldSealer.seal({ i }, { aad: `task-${i}` }));
    const sealer = new Sealer({
      keyring: new Keyring([
        { id: "new", key: KEY_B },
        { id: "old", key: KEY_A },
      ]),
    });
    // First pass is "interrupted" after 7 records.
    let done = 0;
    for (const [id, envelope] of records) {
      if (done++ === 7) break;
      if (sealer.needsReseal(envelope)) records.set(id, sealer.reseal(envelope, { aad: id }));
    }
    assert.equal([...records.values()].filter((e) => sealer.needsReseal(e)).length, 13);
    for (const [id, envelope] of records) {
      if (sealer.needsReseal(envelope)) records.set(id, sealer.reseal(envelope, { aad: id }));
    }
    for (const [id, envelope] of records) {
      assert.equal(sealer.needsReseal(envelope), false);
      assert.deepEqual(sealer.open(envelope, { aad: id }), { i: Number(id.slice(5)) });
    }
  });

  void it("needsReseal rejects garbage with DecryptionError", () => {
    const sealer = sealerWith({ id: "k", key: KEY_A });
    assertDecryptionError(() => sealer.needsReseal(Buffer.from("garbage")), "malformed");
    assertDecryptionError(() => sealer.needsReseal(Buffer.alloc(0)), "malformed");
  });
});

void describe("Sealer (plaintext test mode)", () => {
  const opts = { aad: "task-1" };
  const testSealer = new Sealer({ mode: "plaintext" });
  const production = sealerWith({ id: "k1", key: KEY_A });

  void it("stores records unencrypted in a distinctly marked envelope", () => {
    const envelope = testSealer.seal(RECORD, opts);
    assert.equal(envelope[0], ENVELOPE_FORMAT.plaintextV1);
    assert.equal(envelope[0], 0x50); // "P"
    assert.notEqual(ENVELOPE_FORMAT.plaintextV1, ENVELOPE_FORMAT.sealedV1);
    assert.ok(envelope.includes("hunter2"), "test mode bypasses encryption");
    assert.deepEqual(inspectEnvelope(envelope), {
      format: "plaintext",
      version: 1,
      content: "json",
    });
    assert.deepEqual(testSealer.open(envelope, opts), RECORD);
    assert.equal(testSealer.mode, "plaintext");
    assert.equal(testSealer.needsReseal(envelope), false);
  });

  void it("is refused by a production sealer with reason plaintext-refused, distinct from tampering", () => {
    const envelope = testSealer.seal(RECORD, opts);
    const refused = assertDecryptionError(
      () => production.open(envelope, opts),
      "plaintext-refused",
    );
    assert.match(refused.message, /plaintext/);
    assert.match(refused.message, /migrate/);
    assert.equal(production.needsReseal(envelope), true);

    const tampered = Buffer.from(envelope);
    tampered[tampered.length - 3]! ^= 1;
    assertDecryptionError(() => production.open(tampered, opts), "authentication-failed");
    assertDecryptionError(
      () => production.open(envelope, { aad: "task-2" }),
      "authentication-failed",
    );
  });

  void it("is opened and migrated by a production sealer told to allow plaintext", () => {
    const envelope = testSealer.seal(RECORD, opts);
    assert.deepEqual(production.open(envelope, { ...opts, allowPlaintext: true }), RECORD);
    const migrating = new Sealer({
      keyring: new Keyring([{ id: "k1", key: KEY_A }]),
      allowPlaintext: true,
    });
    assert.deepEqual(migrating.open(envelope, opts), RECORD);
    assertDecryptionError(
      () => migrating.open(envelope, { ...opts, allowPlaintext: false }),
      "plaintext-refused",
    );

    const sealed = production.reseal(envelope, { ...opts, allowPlaintext: true });
    assert.equal(inspectEnvelope(sealed).format, "sealed");
    assert.equal(sealed.includes("hunter2"), false);
    assert.equal(production.needsReseal(sealed), false);
    assert.deepEqual(production.open(sealed, opts), RECORD);
    assertDecryptionError(() => production.reseal(envelope, opts), "plaintext-refused");
  });

  void it("detects any changed byte of a plaintext envelope", () => {
    const envelope = testSealer.seal(RECORD, opts);
    for (let position = 0; position < envelope.length; position++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = Buffer.from(envelope);
        tampered[position] = (tampered[position] ?? 0) ^ mask;
        assertDecryptionError(() => testSealer.open(tampered, opts));
        assertDecryptionError(() => production.open(tampered, { ...opts, allowPlaintext: true }));
      }
    }
    for (let length = 0; length < envelope.length; length++) {
      assertDecryptionError(() => testSealer.open(envelope.subarray(0, length), opts));
    }
  });

  void it("opens sealed records only when given the keyring", () => {
    const sealed = production.seal(RECORD, opts);
    assertDecryptionError(() => testSealer.open(sealed, opts), "unknown-key");
    const withKeys = new Sealer({
      mode: "plaintext",
      keyring: new Keyring([{ id: "k1", key: KEY_A }]),
    });
    assert.deepEqual(withKeys.open(sealed, opts), RECORD);
    assert.equal(inspectEnvelope(withKeys.seal(RECORD, opts)).format, "plaintext");
  });
});

void describe("DecryptionError", () => {
  void it("stays compatible with the (message, { cause }) constructor", () => {
    const cause = new Error("inner");
    const plain = new DecryptionError("x", { cause });
    assert.equal(plain.message, "x");
    assert.equal(plain.cause, cause);
    assert.equal(plain.code, "ERR_DECRYPTION");
    assert.equal(plain.reason, undefined);
    assert.equal(plain.keyId, undefined);
    assert.equal(new DecryptionError("y").cause, undefined);
    const detailed = new DecryptionError("z", { reason: "unknown-key", keyId: "k1" });
    assert.equal(detailed.reason, "unknown-key");
    assert.equal(detailed.keyId, "k1");
    assert.equal(detailed.name, "DecryptionError");
  });
});
