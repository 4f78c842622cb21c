import { createHash } from "node:crypto";
import { DecryptionError, InvalidArgumentError } from "../errors.js";
import { MAX_KEY_ID_LENGTH } from "./key-material.js";

/**
 * Envelope formats. The first byte of every envelope says which; the high
 * nibble names the family (0xE_ sealed, 0x5_ plaintext) so that a record
 * from a newer version is reported as such rather than as garbage.
 *
 * Sealed, AES-256-GCM, version 1:
 * ```
 * 0      1   format  0xE1
 * 1      1   content 0x00 bytes | 0x01 JSON (UTF-8)
 * 2      1   L       key id length, 1..64
 * 3      L   key id  ASCII A-Z a-z 0-9 . _ -
 * 3+L    12  IV      random, fresh for every seal
 * 15+L   n   ciphertext
 * end-16 16  GCM tag
 * ```
 * GCM additional data = bytes [0, 3+L) (format, content, key id) followed by
 * the caller's AAD (the task id); the header is self-delimiting, so the pair
 * is unambiguous.
 *
 * Plaintext (test mode), version 1 — readable, clearly marked, not secret:
 * ```
 * 0      1   format  0x50 ("P")
 * 1      1   content 0x00 bytes | 0x01 JSON (UTF-8)
 * 2      16  check   first 16 bytes of SHA-256(bytes [0,2) ‖ u32be(len AAD) ‖ AAD ‖ body)
 * 18     n   body    the record, unencrypted
 * ```
 * The check is no defence against an attacker; it detects corruption and a
 * record moved to another task, like the GCM tag does for sealed records.
 */
export const ENVELOPE_FORMAT = Object.freeze({
  sealedV1: 0xe1,
  plaintextV1: 0x50,
} as const);

/** How the record inside an envelope is encoded. */
export const CONTENT_TYPE = Object.freeze({ bytes: 0x00, json: 0x01 } as const);

/** Length of the GCM IV, in bytes (96 bits, the size GCM is designed for). */
export const IV_LENGTH = 12;
/** Length of the GCM authentication tag, in bytes. */
export const TAG_LENGTH = 16;
/** Length of the plaintext envelope's integrity check, in bytes. */
export const CHECK_LENGTH = 16;

const SEALED_FAMILY = 0xe0;
const PLAINTEXT_FAMILY = 0x50;
const KEY_ID = /^[A-Za-z0-9._-]+$/;

/** What {@link inspectEnvelope} reports about an envelope without opening it. */
export type EnvelopeInfo =
  | {
      readonly format: "sealed";
      readonly version: 1;
      readonly content: "bytes" | "json";
      /** Id of the key that sealed it (not secret). */
      readonly keyId: string;
    }
  | {
      readonly format: "plaintext";
      readonly version: 1;
      readonly content: "bytes" | "json";
    };

/** A parsed sealed envelope; views into the original bytes. */
export interface SealedParts {
  readonly info: Extract<EnvelopeInfo, { format: "sealed" }>;
  /** Bytes authenticated as part of the GCM additional data, before the caller's AAD. */
  readonly header: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** A parsed plaintext envelope; views into the original bytes. */
export interface PlaintextParts {
  readonly info: Extract<EnvelopeInfo, { format: "plaintext" }>;
  readonly header: Uint8Array;
  readonly check: Uint8Array;
  readonly body: Uint8Array;
}

function malformed(message: string, keyId?: string): DecryptionError {
  return new DecryptionError(`Malformed envelope: ${message}`, {
    reason: "malformed",
    ...(keyId === undefined ? {} : { keyId }),
  });
}

function contentName(byte: number | undefined): "bytes" | "json" {
  if (byte === CONTENT_TYPE.bytes) return "bytes";
  if (byte === CONTENT_TYPE.json) return "json";
  throw malformed(
    byte === undefined
      ? "truncated before the content type"
      : `unknown content type 0x${hex(byte)}`,
  );
}

function shapeOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== "object") return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "Object" ? `an object (${name})` : "an object";
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/**
 * Parses an envelope's structure (no key needed, nothing decrypted).
 *
 * @throws DecryptionError with reason `malformed` (not bytes, empty,
 *   truncated, bad header) or `unsupported-version`.
 */
export function parseEnvelope(envelope: unknown): SealedParts | PlaintextParts {
  if (!(envelope instanceof Uint8Array)) {
    throw malformed(`expected a Buffer or Uint8Array, got ${shapeOf(envelope)}`);
  }
  const format = envelope[0];
  if (format === undefined) throw malformed("empty (0 bytes)");
  if (format === ENVELOPE_FORMAT.sealedV1) return parseSealed(envelope);
  if (format === ENVELOPE_FORMAT.plaintextV1) return parsePlaintext(envelope);
  const family = format & 0xf0;
  if (family === SEALED_FAMILY || family === PLAINTEXT_FAMILY) {
    throw new DecryptionError(
      `Unsupported envelope version: format byte 0x${hex(format)} (${family === SEALED_FAMILY ? "sealed" : "plaintext"}) ` +
        "is not known to this version of orchestrator; was the record written by a newer one?",
      { reason: "unsupported-version" },
    );
  }
  throw malformed(`not an orchestrator envelope (format byte 0x${hex(format)})`);
}

function parseSealed(envelope: Uint8Array): SealedParts {
  const content = contentName(envelope[1]);
  const idLength = envelope[2];
  if (idLength === undefined) throw malformed("truncated before the key id");
  if (idLength === 0 || idLength > MAX_KEY_ID_LENGTH) {
    throw malformed(`key id length ${idLength} is outside 1..${MAX_KEY_ID_LENGTH}`);
  }
  const headerEnd = 3 + idLength;
  if (envelope.length < headerEnd) throw malformed("truncated inside the key id");
  const keyId = Buffer.from(envelope.buffer, envelope.byteOffset + 3, idLength).toString("latin1");
  if (!KEY_ID.test(keyId)) throw malformed("the key id has characters outside A-Z a-z 0-9 . _ -");
  const minimum = headerEnd + IV_LENGTH + TAG_LENGTH;
  if (envelope.length < minimum) {
    throw malformed(
      `truncated: ${envelope.length} bytes, a sealed envelope with this key id has at least ${minimum}`,
      keyId,
    );
  }
  return {
    info: { format: "sealed", version: 1, content, keyId },
    header: envelope.subarray(0, headerEnd),
    iv: envelope.subarray(headerEnd, headerEnd + IV_LENGTH),
    ciphertext: envelope.subarray(headerEnd + IV_LENGTH, envelope.length - TAG_LENGTH),
    tag: envelope.subarray(envelope.length - TAG_LENGTH),
  };
}

function parsePlaintext(envelope: Uint8Array): PlaintextParts {
  const content = contentName(envelope[1]);
  if (envelope.length < 2 + CHECK_LENGTH) {
    throw malformed(
      `truncated: ${envelope.length} bytes, a plaintext envelope has at least ${2 + CHECK_LENGTH}`,
    );
  }
  return {
    info: { format: "plaintext", version: 1, content },
    header: envelope.subarray(0, 2),
    check: envelope.subarray(2, 2 + CHECK_LENGTH),
    body: envelope.subarray(2 + CHECK_LENGTH),
  };
}

/**
 * Reads an envelope's format, content type and key id without opening it:
 * to tell a plaintext (test-mode) record from a sealed one, or to see which
 * key sealed it.
 *
 * @throws DecryptionError with reason `malformed` or `unsupported-version`.
 */
export function inspectEnvelope(envelope: Uint8Array): EnvelopeInfo {
  return parseEnvelope(envelope).info;
}

/** Builds a sealed v1 header: format, content type, key id. */
export function sealedHeader(content: "bytes" | "json", keyId: string): Buffer {
  const id = Buffer.from(keyId, "latin1");
  return Buffer.concat([
    Uint8Array.of(ENVELOPE_FORMAT.sealedV1, CONTENT_TYPE[content], id.length),
    id,
  ]);
}

/** Builds a plaintext v1 envelope. */
export function plaintextEnvelope(
  content: "bytes" | "json",
  body: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const header = Uint8Array.of(ENVELOPE_FORMAT.plaintextV1, CONTENT_TYPE[content]);
  return Buffer.concat([header, plaintextCheck(header, aad, body), body]);
}

/** The integrity check of a plaintext envelope (see {@link ENVELOPE_FORMAT}). */
export function plaintextCheck(header: Uint8Array, aad: Uint8Array, body: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(aad.length);
  return createHash("sha256")
    .update(header)
    .update(length)
    .update(aad)
    .update(body)
    .digest()
    .subarray(0, CHECK_LENGTH);
}

/**
 * Encodes the additional authenticated data: a string (the task id) as
 * UTF-8, bytes as is.
 *
 * @throws InvalidArgumentError when `aad` is neither.
 */
export function encodeAad(aad: unknown): Uint8Array {
  if (typeof aad === "string") return Buffer.from(aad, "utf8");
  if (aad instanceof Uint8Array) return aad;
  throw new InvalidArgumentError(
    "aad",
    "the task id (a string) or a Uint8Array, binding the record to its task",
    aad,
  );
}
