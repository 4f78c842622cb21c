import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { DecryptionError, InvalidArgumentError } from "../errors.js";
import {
  IV_LENGTH,
  TAG_LENGTH,
  encodeAad,
  parseEnvelope,
  plaintextCheck,
  plaintextEnvelope,
  sealedHeader,
  type PlaintextParts,
  type SealedParts,
} from "./envelope.js";
import { Keyring } from "./keyring.js";

const CIPHER = "aes-256-gcm";

/** A JSON value, as `JSON.parse` returns it. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * What can be sealed: bytes (sealed as is, opened as a Buffer) or a JSON
 * value (sealed as its `JSON.stringify` text, opened with `JSON.parse`, so
 * JSON's rules apply: `undefined` properties vanish, `NaN` becomes `null`).
 */
export type SealableValue = JsonValue | Uint8Array;

/** What `open` returns: a Buffer for a record sealed as bytes, else the JSON value. */
export type OpenedValue = JsonValue | Buffer;

/** `"encrypted"`: production mode, AES-256-GCM. `"plaintext"`: test mode, marked and unencrypted. */
export type SealerMode = "encrypted" | "plaintext";

/** Options of {@link Sealer.seal}. */
export interface SealOptions {
  /**
   * Additional authenticated data: the id of the task the record belongs to.
   * The record opens only with the same value, so a record copied onto
   * another task fails authentication.
   */
  readonly aad: string | Uint8Array;
}

/** Options of {@link Sealer.open} and {@link Sealer.reseal}. */
export interface OpenOptions extends SealOptions {
  /**
   * Open plaintext (test-mode) records too, to migrate them; overrides the
   * sealer's `allowPlaintext` for this call.
   */
  readonly allowPlaintext?: boolean;
}

/** Options of {@link Sealer}. */
export interface SealerOptions {
  /** Production (`"encrypted"`) or test mode (`"plaintext"`). @defaultValue "encrypted" */
  readonly mode?: SealerMode;
  /**
   * The keys: the primary seals, all open. Required in encrypted mode; in
   * plaintext mode, optional, to open records sealed earlier.
   */
  readonly keyring?: Keyring | undefined;
  /**
   * In encrypted mode, also open plaintext records (migration from test
   * mode); without it they raise DecryptionError with reason
   * `plaintext-refused`. Plaintext mode always opens them.
   * @defaultValue false
   */
  readonly allowPlaintext?: boolean;
}

/** Defaults of {@link SealerOptions}. */
export const SEALER_DEFAULTS = Object.freeze({
  mode: "encrypted",
  allowPlaintext: false,
} as const) satisfies Required<Omit<SealerOptions, "keyring">>;

/**
 * Seals task records into envelopes and opens them (see `envelope.ts` for
 * the format). In encrypted mode every seal uses AES-256-GCM with the
 * keyring's primary key and a fresh random 96-bit IV; in plaintext mode
 * (test mode) records are stored unencrypted in a distinctly marked envelope.
 *
 * Every failure to open raises DecryptionError, whose `reason` says why;
 * never a raw crypto error.
 */
export class Sealer {
  readonly #mode: SealerMode;
  readonly #keyring: Keyring | undefined;
  readonly #allowPlaintext: boolean;

  /** @throws InvalidArgumentError for an unknown mode, or encrypted mode without a keyring. */
  constructor(options: SealerOptions) {
    const mode = options.mode ?? SEALER_DEFAULTS.mode;
    if (mode !== "encrypted" && mode !== "plaintext") {
      throw new InvalidArgumentError("mode", '"encrypted" or "plaintext"', mode);
    }
    if (options.keyring !== undefined && !(options.keyring instanceof Keyring)) {
      throw new InvalidArgumentError("keyring", "a Keyring (see createKeyring)", options.keyring);
    }
    if (mode === "encrypted" && options.keyring === undefined) {
      throw new InvalidArgumentError(
        "keyring",
        "a Keyring in encrypted mode (see resolveKeyring)",
        undefined,
        'pass mode: "plaintext" for test mode',
      );
    }
    this.#mode = mode;
    this.#keyring = options.keyring;
    this.#allowPlaintext = options.allowPlaintext ?? SEALER_DEFAULTS.allowPlaintext;
  }

  /** The mode this sealer seals in. */
  get mode(): SealerMode {
    return this.#mode;
  }

  /** The keyring, if any. */
  get keyring(): Keyring | undefined {
    return this.#keyring;
  }

  /**
   * Seals a record for the task named by `aad`.
   *
   * @returns a new envelope (a Buffer), different on every call even for the same record.
   * @throws InvalidArgumentError when `value` cannot be encoded as JSON (a
   *   BigInt, a cycle, `undefined`, a function) or `aad` is missing.
   */
  seal(value: SealableValue, options: SealOptions): Buffer {
    const aad = encodeAad(options.aad);
    const { content, body } = encodeValue(value);
    return this.#sealBody(content, body, aad);
  }

  /**
   * Opens an envelope sealed for the task named by `aad`.
   *
   * @throws DecryptionError with `reason`:
   *   `malformed` (not an envelope, empty, truncated, corrupted header, or
   *   undecodable content), `unsupported-version`, `unknown-key` (the key id is
   *   not in the keyring; `keyId` names it), `authentication-failed` (wrong
   *   key, any changed byte, or the record of another task), or
   *   `plaintext-refused` (an intact plaintext record, and plaintext is not allowed).
   * @throws InvalidArgumentError when `aad` is missing.
   */
  open(envelope: Uint8Array, options: OpenOptions): OpenedValue {
    const { content, body } = this.#openBody(envelope, options);
    return decodeValue(content, body);
  }

  /**
   * Whether the envelope should be sealed again: in encrypted mode, when it
   * is plaintext or sealed with a key other than the primary (rotation and
   * migration). Always false in plaintext mode, which never re-seals.
   *
   * @throws DecryptionError with reason `malformed` or `unsupported-version`.
   */
  needsReseal(envelope: Uint8Array): boolean {
    if (this.#mode === "plaintext" || this.#keyring === undefined) {
      parseEnvelope(envelope);
      return false;
    }
    return needsReseal(envelope, this.#keyring);
  }

  /**
   * Opens an envelope and seals its record again, byte for byte, in this
   * sealer's mode (encrypted: with the primary key). The old envelope stays
   * valid as long as its key is in the keyring, so a rotation that stops half
   * way loses nothing and can resume.
   *
   * @throws DecryptionError as {@link Sealer.open}.
   */
  reseal(envelope: Uint8Array, options: OpenOptions): Buffer {
    const aad = encodeAad(options.aad);
    const { content, body } = this.#openBody(envelope, options);
    try {
      return this.#sealBody(content, body, aad);
    } finally {
      body.fill(0);
    }
  }

  #sealBody(content: "bytes" | "json", body: Uint8Array, aad: Uint8Array): Buffer {
    if (this.#mode === "plaintext" || this.#keyring === undefined) {
      return plaintextEnvelope(content, body, aad);
    }
    const keyId = this.#keyring.primaryId;
    const key = this.#keyring.key(keyId) as KeyObject;
    const header = sealedHeader(content, keyId);
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(Buffer.concat([header, aad]));
    const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
    return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]);
  }

  #openBody(
    envelope: Uint8Array,
    options: OpenOptions,
  ): { content: "bytes" | "json"; body: Buffer } {
    const aad = encodeAad(options.aad);
    const parts = parseEnvelope(envelope);
    if (parts.info.format === "plaintext") {
      return this.#openPlaintext(parts as PlaintextParts, aad, options);
    }
    return this.#openSealed(parts as SealedParts, aad, options);
  }

  #openPlaintext(
    parts: PlaintextParts,
    aad: Uint8Array,
    options: OpenOptions,
  ): { content: "bytes" | "json"; body: Buffer } {
    const expected = plaintextCheck(parts.header, aad, parts.body);
    if (!timingSafeEqual(expected, parts.check)) {
      throw new DecryptionError(
        `Integrity check failed for the plaintext record${forTask(options.aad)}: ` +
          "it was corrupted or tampered with, or belongs to another task",
        { reason: "authentication-failed" },
      );
    }
    const allowed = this.#mode === "plaintext" || (options.allowPlaintext ?? this.#allowPlaintext);
    if (!allowed) {
      throw new DecryptionError(
        `The record${forTask(options.aad)} is stored in plaintext (written in test mode) and this ` +
          "production-mode sealer does not open plaintext records; allow plaintext (migrate) to " +
          "open it and seal it again",
        { reason: "plaintext-refused" },
      );
    }
    return { content: parts.info.content, body: Buffer.from(parts.body) };
  }

  #openSealed(
    parts: SealedParts,
    aad: Uint8Array,
    options: OpenOptions,
  ): { content: "bytes" | "json"; body: Buffer } {
    const { keyId, content } = parts.info;
    const key = this.#keyring?.key(keyId);
    if (key === undefined) {
      const known =
        this.#keyring === undefined
          ? "there is no keyring (test mode)"
          : `the keyring has ${this.#keyring.ids.map((id) => JSON.stringify(id)).join(", ")}`;
      throw new DecryptionError(
        `Unknown key id ${JSON.stringify(keyId)}: the record${forTask(options.aad)} was sealed with a key ` +
          `that is not in the keyring (${known}); add that key (it may follow the primary) to open it`,
        { reason: "unknown-key", keyId },
      );
    }
    const decipher = createDecipheriv(CIPHER, key, parts.iv, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(parts.tag);
    decipher.setAAD(Buffer.concat([parts.header, aad]));
    const body = decipher.update(parts.ciphertext);
    try {
      return { content, body: Buffer.concat([body, decipher.final()]) };
    } catch (error) {
      throw new DecryptionError(
        `Authentication failed for the record${forTask(options.aad)} sealed with key ${JSON.stringify(keyId)}: ` +
          "wrong key for this id, the record was tampered with or truncated, or it belongs to another task",
        { reason: "authentication-failed", keyId, cause: error },
      );
    } finally {
      body.fill(0);
    }
  }
}

/**
 * Whether an envelope should be sealed again with `keyring`'s primary key:
 * true when it is plaintext or was sealed with another key. For resumable
 * rotation: re-seal until this is false for every record.
 *
 * @throws DecryptionError with reason `malformed` or `unsupported-version`.
 */
export function needsReseal(envelope: Uint8Array, keyring: Keyring): boolean {
  const { info } = parseEnvelope(envelope);
  return info.format === "plaintext" || info.keyId !== keyring.primaryId;
}

function forTask(aad: unknown): string {
  return typeof aad === "string" ? ` of task ${JSON.stringify(aad)}` : "";
}

function encodeValue(value: unknown): { content: "bytes" | "json"; body: Buffer } {
  if (value instanceof Uint8Array) return { content: "bytes", body: Buffer.from(value) };
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw new InvalidArgumentError(
      "value",
      "a JSON value or a Uint8Array",
      value,
      "wrap other binary data in a Uint8Array",
    );
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(
      "value",
      "a JSON value or a Uint8Array",
      value,
      `JSON.stringify failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (text === undefined) {
    throw new InvalidArgumentError("value", "a JSON value or a Uint8Array", value);
  }
  return { content: "json", body: Buffer.from(text, "utf8") };
}

function decodeValue(content: "bytes" | "json", body: Buffer): OpenedValue {
  if (content === "bytes") return body;
  try {
    return JSON.parse(body.toString("utf8")) as JsonValue;
  } catch (error) {
    throw new DecryptionError("Malformed record: it opened, but its content is not valid JSON", {
      reason: "malformed",
      cause: error,
    });
  } finally {
    body.fill(0);
  }
}
