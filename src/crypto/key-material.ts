import { createHash, randomBytes } from "node:crypto";
import { InvalidArgumentError, Redacted } from "../errors.js";

/** Length in bytes of an AES-256 key. */
export const KEY_LENGTH = 32;

/** Longest key id an envelope can carry, in characters. */
export const MAX_KEY_ID_LENGTH = 64;

/** A key as the caller gives it: 32 raw bytes, or a base64 or hex string of 32 bytes. */
export type KeyMaterial = string | Uint8Array;

/** What a 32-byte key looks like, for error messages (never the key itself). */
export const KEY_FORMS =
  "32 bytes: a Buffer/Uint8Array, a base64 string (44 characters, or 43 without padding) " +
  "or a hex string (64 characters)";

/** How to make a key, appended to error messages about missing or invalid keys. */
export const KEY_GENERATION_HINT =
  "generate one with `orchestrator keys generate` or " +
  `\`node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"\``;

const HEX = /^[0-9a-fA-F]+$/;
// Standard or URL-safe alphabet, padding only at the end.
const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;
const KEY_ID = /^[A-Za-z0-9._-]+$/;
const KEY_ID_PREFIX = Buffer.from("orchestrator key id v1\0", "utf8");

/**
 * Decodes a 32-byte AES-256 key from raw bytes, base64 (standard or URL-safe)
 * or hex. Surrounding whitespace of a string is ignored (keys read from files
 * often end in a newline).
 *
 * @param value - the key as given.
 * @param argument - the option or environment variable it came from, named in errors.
 * @returns a new Buffer of 32 bytes that the caller owns (and should zero when done).
 * @throws InvalidArgumentError naming `argument` and what was wrong; the message and the
 *   error's `received` field describe the value's shape only, never its content.
 */
export function parseKeyMaterial(value: unknown, argument: string): Buffer {
  if (value instanceof Uint8Array) {
    if (value.length !== KEY_LENGTH) {
      throw new InvalidArgumentError(
        argument,
        KEY_FORMS,
        new Redacted(`a ${value.constructor.name} of ${value.length} bytes`),
        KEY_GENERATION_HINT,
      );
    }
    return Buffer.from(value);
  }
  if (typeof value !== "string") {
    throw new InvalidArgumentError(argument, KEY_FORMS, redactedShape(value));
  }
  const text = value.trim();
  if (text.length === 0) {
    throw new InvalidArgumentError(
      argument,
      KEY_FORMS,
      new Redacted("an empty string"),
      KEY_GENERATION_HINT,
    );
  }
  if (HEX.test(text) && text.length === 2 * KEY_LENGTH) {
    return Buffer.from(text, "hex");
  }
  if (BASE64.test(text) && text.length % 4 !== 1) {
    const key = Buffer.from(text, "base64");
    if (key.length === KEY_LENGTH) return key;
    key.fill(0);
  }
  throw new InvalidArgumentError(
    argument,
    KEY_FORMS,
    new Redacted(`a string of ${text.length} characters`),
    `${describeStringProblem(text)}; ${KEY_GENERATION_HINT}`,
  );
}

function describeStringProblem(text: string): string {
  if (HEX.test(text) && text.length % 2 === 0) {
    return `as hex it is ${text.length / 2} bytes, not ${KEY_LENGTH}`;
  }
  if (BASE64.test(text) && text.length % 4 !== 1) {
    return `as base64 it decodes to ${Buffer.from(text, "base64").length} bytes, not ${KEY_LENGTH}`;
  }
  return "it is neither hex nor base64 (a passphrase is not a key: a key is 32 random bytes)";
}

function redactedShape(value: unknown): Redacted {
  if (value === null || value === undefined) return new Redacted(String(value));
  if (Array.isArray(value)) return new Redacted("an array");
  if (value instanceof ArrayBuffer) return new Redacted("an ArrayBuffer (wrap it in a Uint8Array)");
  return new Redacted(typeof value === "object" ? "an object" : `a ${typeof value}`);
}

/**
 * Checks a key id: 1 to 64 characters from `A-Z a-z 0-9 . _ -`. Ids are not
 * secret; they are written into every envelope in clear.
 *
 * @throws InvalidArgumentError naming `argument`.
 */
export function validateKeyId(id: unknown, argument: string): string {
  if (
    typeof id !== "string" ||
    id.length === 0 ||
    id.length > MAX_KEY_ID_LENGTH ||
    !KEY_ID.test(id)
  ) {
    throw new InvalidArgumentError(
      argument,
      `a key id of 1 to ${MAX_KEY_ID_LENGTH} characters from A-Z, a-z, 0-9, ".", "_" and "-"`,
      id,
    );
  }
  return id;
}

/**
 * Derives the short, stable id of a key: the first 8 bytes, in hex (16
 * characters), of SHA-256 over a fixed label and the key. The same key always
 * gets the same id; the id reveals nothing usable about the key.
 */
export function deriveKeyId(key: Uint8Array): string {
  return createHash("sha256")
    .update(KEY_ID_PREFIX)
    .update(key)
    .digest()
    .subarray(0, 8)
    .toString("hex");
}

/**
 * Generates a new random 32-byte key, base64-encoded (44 characters), as
 * printed by `orchestrator keys generate`. Suitable for `encryptionKey`,
 * `ORCHESTRATOR_ENCRYPTION_KEY` and the entries of `ORCHESTRATOR_ENCRYPTION_KEYS`.
 */
export function generateKey(): string {
  return randomBytes(KEY_LENGTH).toString("base64");
}
