import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, it } from "node:test";
import { InvalidArgumentError, Redacted } from "../../src/errors.js";
import {
  KEY_LENGTH,
  deriveKeyId,
  generateKey,
  parseKeyMaterial,
} from "../../src/crypto/key-material.js";
import {
  ENCRYPTION_KEYS_ENV,
  ENCRYPTION_KEY_ENV,
  Keyring,
  createEphemeralKeyring,
  createKeyring,
  keyringFromEnv,
  parseKeyringSpec,
  resolveKeyring,
} from "../../src/crypto/keyring.js";
import { Sealer } from "../../src/crypto/sealer.js";

const RAW = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 3));
const B64 = RAW.toString("base64");
const HEX = RAW.toString("hex");
const OTHER = randomBytes(32).toString("base64");

/** Asserts an InvalidArgumentError naming `argument`, matching `pattern`, and free of every secret. */
function assertKeyError(
  fn: () => unknown,
  argument: string | RegExp,
  pattern: RegExp,
  secrets: readonly string[] = [],
): InvalidArgumentError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof InvalidArgumentError,
    `expected InvalidArgumentError, got ${String(caught)}`,
  );
  assert.equal(caught.code, "ERR_INVALID_ARGUMENT");
  if (typeof argument === "string") assert.equal(caught.argument, argument);
  else assert.match(caught.argument, argument);
  assert.match(caught.message, pattern);
  const shown = `${caught.message}\n${inspect(caught, { depth: 5 })}\n${JSON.stringify(caught)}`;
  for (const secret of secrets) {
    for (const form of forms(secret)) {
      assert.equal(shown.includes(form), false, `the error shows key material: ${caught.message}`);
    }
  }
  return caught;
}

/** The secret and long slices of it, so that a partial leak is caught too. */
function forms(secret: string): string[] {
  return secret.length <= 12 ? [secret] : [secret, secret.slice(0, 12), secret.slice(-12)];
}

void describe("parseKeyMaterial", () => {
  void it("accepts 32 bytes as Buffer, Uint8Array, base64 (padded or not, URL-safe) and hex", () => {
    const urlSafe = Buffer.from(RAW).toString("base64url");
    for (const input of [
      RAW,
      new Uint8Array(RAW),
      B64,
      B64.replace(/=$/, ""),
      urlSafe,
      HEX,
      HEX.toUpperCase(),
      ` ${B64}\n`,
    ]) {
      const key = parseKeyMaterial(input, "encryptionKey");
      assert.equal(key.length, KEY_LENGTH);
      assert.deepEqual(key, RAW);
    }
  });

  void it("copies the caller's bytes", () => {
    const input = Buffer.from(RAW);
    const key = parseKeyMaterial(input, "encryptionKey");
    key.fill(0);
    assert.deepEqual(input, RAW);
  });

  void it("rejects a wrong length, naming the argument and the lengths but not the key", () => {
    const short = randomBytes(16);
    assertKeyError(
      () => parseKeyMaterial(short, "encryptionKey"),
      "encryptionKey",
      /Buffer of 16 bytes \(redacted\)/,
      [short.toString("hex")],
    );
    const e1 = assertKeyError(
      () => parseKeyMaterial(short.toString("hex"), "encryptionKey"),
      "encryptionKey",
      /as hex it is 16 bytes, not 32/,
      [short.toString("hex")],
    );
    assert.ok(e1.received instanceof Redacted, "received holds no key material");
    const long = randomBytes(48).toString("base64");
    assertKeyError(
      () => parseKeyMaterial(long, "MY_VAR"),
      "MY_VAR",
      /as base64 it decodes to 48 bytes, not 32/,
      [long],
    );
    assertKeyError(() => parseKeyMaterial("", "encryptionKey"), "encryptionKey", /an empty string/);
  });

  void it("rejects a bad encoding with a hint on how to generate a key", () => {
    const passphrase = "correct horse battery staple!";
    const error = assertKeyError(
      () => parseKeyMaterial(passphrase, "encryptionKey"),
      "encryptionKey",
      /neither hex nor base64/,
      [passphrase, "horse"],
    );
    assert.match(error.message, /Expected `encryptionKey` to be 32 bytes/);
    assert.match(error.message, /orchestrator keys generate/);
    assert.match(error.message, /randomBytes\(32\)\.toString\('base64'\)/);
    assert.match(error.message, /a string of 29 characters \(redacted\)/);
  });

  void it("rejects other types", () => {
    for (const value of [undefined, null, 42, {}, [1, 2], new ArrayBuffer(32)]) {
      assertKeyError(
        () => parseKeyMaterial(value, "encryptionKey"),
        "encryptionKey",
        /Expected `encryptionKey`/,
      );
    }
  });
});

void describe("key ids and key generation", () => {
  void it("derives a short id that is stable per key and differs between keys", () => {
    const id = deriveKeyId(RAW);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(deriveKeyId(Buffer.from(RAW)), id);
    assert.notEqual(deriveKeyId(randomBytes(32)), id);
    assert.equal(new Keyring([B64]).primaryId, id);
    assert.equal(new Keyring([HEX]).primaryId, id, "the id depends on the key, not its encoding");
  });

  void it("generates 32 random bytes as base64 that every key input accepts", () => {
    const key = generateKey();
    assert.match(key, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(key, "base64").length, 32);
    assert.notEqual(generateKey(), key);
    assert.deepEqual(parseKeyMaterial(key, "encryptionKey"), Buffer.from(key, "base64"));
    assert.equal(keyringFromEnv({ [ENCRYPTION_KEY_ENV]: key })?.ids.length, 1);
  });
});

void describe("Keyring", () => {
  void it("makes the first key primary and opens with all", () => {
    const ring = new Keyring([
      { id: "v2", key: OTHER },
      { id: "v1", key: B64 },
      HEX.replace(/^../, "ff"),
    ]);
    assert.equal(ring.primaryId, "v2");
    assert.equal(ring.ids.length, 3);
    assert.deepEqual(ring.ids.slice(0, 2), ["v2", "v1"]);
    assert.ok(ring.has("v1"));
    assert.equal(ring.has("v3"), false);
    assert.equal(ring.key("v3"), undefined);
    assert.equal(ring.ephemeral, false);
  });

  void it("never shows key material when printed or serialised", () => {
    const ring = new Keyring([{ id: "v1", key: B64 }]);
    const shown = `${inspect(ring, { depth: 10, showHidden: true })}${String(ring)}${JSON.stringify(ring)}${inspect(ring.key("v1"))}`;
    for (const form of [...forms(B64), ...forms(HEX)]) assert.equal(shown.includes(form), false);
    assert.deepEqual(JSON.parse(JSON.stringify(ring)), { primaryId: "v1", ids: ["v1"] });
  });

  void it("rejects an empty list, bad ids and repeated ids", () => {
    assertKeyError(() => new Keyring([]), "encryptionKey", /at least one key/);
    assertKeyError(() => new Keyring(B64 as unknown as string[]), "encryptionKey", /a list of/, [
      B64,
    ]);
    assertKeyError(
      () => new Keyring([{ id: "", key: B64 }]),
      "encryptionKey.id",
      /key id of 1 to 64/,
    );
    assertKeyError(() => new Keyring([{ id: "a b", key: B64 }]), "encryptionKey.id", /key id/);
    assertKeyError(
      () => new Keyring([{ id: "x".repeat(65), key: B64 }]),
      "encryptionKey.id",
      /key id/,
    );
    assertKeyError(
      () =>
        new Keyring([
          { id: "v1", key: B64 },
          { id: "v1", key: OTHER },
        ]),
      "encryptionKey[1].id",
      /no other key/,
    );
    assertKeyError(() => new Keyring([B64, HEX]), "encryptionKey[1].id", /listed twice/);
    assertKeyError(
      () => new Keyring([{ id: "v1", key: "short" }, B64]),
      "encryptionKey[0]",
      /Expected `encryptionKey\[0\]`/,
      ["short"],
    );
    assertKeyError(
      () => new Keyring([42 as unknown as string]),
      "encryptionKey",
      /\{ id\?, key \}/,
    );
  });

  void it("creates keyrings from every form of the encryptionKey option", () => {
    const ring = new Keyring([B64]);
    assert.equal(createKeyring(ring), ring);
    assert.equal(createKeyring(RAW).primaryId, deriveKeyId(RAW));
    assert.equal(createKeyring({ id: "main", key: HEX }).primaryId, "main");
    assert.deepEqual(
      createKeyring([
        { id: "b", key: OTHER },
        { id: "a", key: RAW },
      ]).ids,
      ["b", "a"],
    );
    assert.deepEqual(createKeyring(`b:${OTHER},a:${HEX}`).ids, ["b", "a"]);
  });

  void it("makes ephemeral keyrings with a random key each", () => {
    const one = createEphemeralKeyring();
    const two = createEphemeralKeyring();
    assert.ok(one.ephemeral);
    assert.match(one.primaryId, /^ephemeral-[0-9a-f]{16}$/);
    assert.notEqual(one.primaryId, two.primaryId);
  });
});

void describe("parseKeyringSpec", () => {
  void it("parses id:key entries, keys without ids, whitespace and empty entries", () => {
    const ring = parseKeyringSpec(` new:${OTHER} , old:${HEX},,${B64.replace(/=$/, "")}, `);
    assert.equal(ring.primaryId, "new");
    assert.deepEqual(ring.ids.slice(0, 2), ["new", "old"]);
    // The same key under an explicit id and under its derived id counts as two entries.
    assert.deepEqual(ring.ids, ["new", "old", deriveKeyId(RAW)]);
  });

  void it("names the variable and entry in errors, never the key", () => {
    const bad = randomBytes(20).toString("base64");
    assertKeyError(
      () => parseKeyringSpec(`a:${B64},b:${bad}`),
      /ORCHESTRATOR_ENCRYPTION_KEYS entry 2 \(id "b"\)/,
      /decodes to 20 bytes/,
      [bad, B64],
    );
    assertKeyError(
      () => parseKeyringSpec(`a b:${B64}`),
      "ORCHESTRATOR_ENCRYPTION_KEYS entry 1 id",
      /key id/,
      [B64],
    );
    assertKeyError(
      () => parseKeyringSpec(`:${B64}`),
      "ORCHESTRATOR_ENCRYPTION_KEYS entry 1 id",
      /key id/,
      [B64],
    );
    assertKeyError(
      () => parseKeyringSpec(`a:${B64},a:${OTHER}`),
      "ORCHESTRATOR_ENCRYPTION_KEYS entry 2 id",
      /no other entry/,
      [B64, OTHER],
    );
    assertKeyError(() => parseKeyringSpec(" , ,"), ENCRYPTION_KEYS_ENV, /id1:key1,id2:key2/);
    assertKeyError(
      () => parseKeyringSpec("a:", "encryptionKey"),
      /^encryptionKey entry 1/,
      /empty string/,
    );
  });
});

void describe("keyring from the environment", () => {
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = {
      [ENCRYPTION_KEY_ENV]: process.env[ENCRYPTION_KEY_ENV],
      [ENCRYPTION_KEYS_ENV]: process.env[ENCRYPTION_KEYS_ENV],
    };
    delete process.env[ENCRYPTION_KEY_ENV];
    delete process.env[ENCRYPTION_KEYS_ENV];
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  void it("reads ORCHESTRATOR_ENCRYPTION_KEY from process.env by default", () => {
    assert.equal(keyringFromEnv(), undefined);
    process.env[ENCRYPTION_KEY_ENV] = B64;
    assert.equal(keyringFromEnv()?.primaryId, deriveKeyId(RAW));
    process.env[ENCRYPTION_KEY_ENV] = HEX;
    assert.equal(resolveKeyring({ durable: true }).primaryId, deriveKeyId(RAW));
  });

  void it("reads ORCHESTRATOR_ENCRYPTION_KEYS: the first seals, all open", () => {
    process.env[ENCRYPTION_KEYS_ENV] = `new:${OTHER},old:${B64}`;
    const ring = resolveKeyring({ durable: true });
    assert.deepEqual(ring.ids, ["new", "old"]);

    const oldRecord = new Sealer({ keyring: new Keyring([{ id: "old", key: B64 }]) }).seal(
      { x: 1 },
      { aad: "t" },
    );
    const sealer = new Sealer({ keyring: ring });
    assert.deepEqual(sealer.open(oldRecord, { aad: "t" }), { x: 1 });
    assert.equal(sealer.needsReseal(oldRecord), true);
  });

  void it("accepts ORCHESTRATOR_ENCRYPTION_KEY beside the list only when the list holds that key", () => {
    process.env[ENCRYPTION_KEYS_ENV] = `new:${OTHER},old:${B64}`;
    process.env[ENCRYPTION_KEY_ENV] = HEX;
    assert.deepEqual(keyringFromEnv()?.ids, ["new", "old"]);
    const stray = generateKey();
    process.env[ENCRYPTION_KEY_ENV] = stray;
    assertKeyError(() => keyringFromEnv(), ENCRYPTION_KEY_ENV, /does not include it/, [
      stray,
      OTHER,
      B64,
    ]);
  });

  void it("treats blank variables as unset and names them in the missing-key error", () => {
    process.env[ENCRYPTION_KEY_ENV] = "  ";
    assert.equal(keyringFromEnv(), undefined);
    const error = assertKeyError(
      () => resolveKeyring({ durable: true }),
      "encryptionKey",
      /ORCHESTRATOR_ENCRYPTION_KEY is set but blank/,
    );
    assert.equal(error.received, undefined);
  });

  void it("names the variable when its value is malformed, without showing it", () => {
    const bad = randomBytes(31).toString("hex");
    process.env[ENCRYPTION_KEY_ENV] = bad;
    assertKeyError(
      () => resolveKeyring({ durable: true }),
      ENCRYPTION_KEY_ENV,
      /Expected `ORCHESTRATOR_ENCRYPTION_KEY` to be 32 bytes.*as hex it is 31 bytes/,
      [bad],
    );
    process.env[ENCRYPTION_KEY_ENV] = "";
    process.env[ENCRYPTION_KEYS_ENV] = `a:${bad}`;
    assertKeyError(
      () => resolveKeyring({ durable: true }),
      /^ORCHESTRATOR_ENCRYPTION_KEYS entry 1/,
      /31 bytes/,
      [bad],
    );
  });
});

void describe("resolveKeyring", () => {
  const none = {};

  void it("prefers the encryptionKey option to the environment", () => {
    const ring = resolveKeyring({
      encryptionKey: { id: "opt", key: RAW },
      env: { [ENCRYPTION_KEY_ENV]: OTHER },
      durable: true,
    });
    assert.equal(ring.primaryId, "opt");
    assert.equal(
      resolveKeyring({ env: { [ENCRYPTION_KEY_ENV]: B64 }, durable: true }).primaryId,
      deriveKeyId(RAW),
    );
  });

  void it("gives a store that is not durable an ephemeral keyring", () => {
    const ring = resolveKeyring({ env: none, durable: false });
    assert.ok(ring.ephemeral);
  });

  void it("fails for a durable store without a key, saying how to generate one", () => {
    const error = assertKeyError(
      () => resolveKeyring({ env: none, durable: true }),
      "encryptionKey",
      /durable store in production mode/,
    );
    assert.match(error.message, /orchestrator keys generate/);
    assert.match(
      error.message,
      /node -e "console\.log\(require\('crypto'\)\.randomBytes\(32\)\.toString\('base64'\)\)"/,
    );
    assert.match(error.message, /ORCHESTRATOR_ENCRYPTION_KEY\b/);
    assert.match(error.message, /ORCHESTRATOR_ENCRYPTION_KEYS/);
    assert.match(error.message, /got undefined/);
    assert.doesNotMatch(error.message, /set but blank/);
  });

  void it("reports a malformed option by its name", () => {
    assertKeyError(
      () => resolveKeyring({ encryptionKey: "let me in please!", env: none, durable: true }),
      "encryptionKey",
      /neither hex nor base64/,
      ["let me in please!"],
    );
  });
});
