import { resolveKeyring, type EncryptionKeyOption, type Environment } from "../crypto/keyring.js";
import { Sealer, needsReseal, type JsonValue } from "../crypto/sealer.js";
import { DecryptionError, InvalidArgumentError } from "../errors.js";
import type { CallbackRecord, CallbackRef, StoredCallback } from "../store/store.js";

/** Options of {@link CallbackSealing}. */
export interface CallbackSealingOptions {
  /** The scheduler's `encryptionKey` option (else the environment is read). */
  readonly encryptionKey?: EncryptionKeyOption | undefined;
  /** Where `ORCHESTRATOR_ENCRYPTION_KEY(S)` are read. @defaultValue process.env */
  readonly env?: Environment | undefined;
  /** Whether the store outlives the process (then a key is required in production mode). */
  readonly durable: boolean;
  /** Test mode: records are written in plaintext, marked as such. */
  readonly testMode: boolean;
  /** Open plaintext records in production mode (to re-seal them) instead of refusing them. */
  readonly migratePlaintext: boolean;
}

/**
 * Seals and opens the callback records of tasks (handler or module reference
 * plus payload) for one scheduler: AES-256-GCM with the keyring's primary key
 * and the task name as additional authenticated data in production mode; a
 * `plain` record (marked as such by the store) in test mode.
 *
 * Construction resolves the keyring, so a durable store in production mode
 * without a key fails here, with the crypto module's message on how to make one.
 */
export class CallbackSealing {
  readonly #sealer: Sealer;
  readonly #testMode: boolean;
  readonly #migratePlaintext: boolean;

  /** @throws InvalidArgumentError when a key is required and missing, or malformed. */
  constructor(options: CallbackSealingOptions) {
    this.#testMode = options.testMode;
    this.#migratePlaintext = options.migratePlaintext;
    if (options.testMode) {
      // Test mode writes plaintext, but opens sealed records when a key is at hand.
      let keyring;
      try {
        keyring =
          options.encryptionKey === undefined && !hasEnvKey(options.env)
            ? undefined
            : resolveKeyring({
                encryptionKey: options.encryptionKey,
                env: options.env ?? process.env,
                durable: true,
              });
      } catch {
        keyring = undefined;
      }
      this.#sealer = new Sealer({ mode: "plaintext", keyring });
    } else {
      const keyring = resolveKeyring({
        encryptionKey: options.encryptionKey,
        env: options.env ?? process.env,
        durable: options.durable,
      });
      this.#sealer = new Sealer({ keyring, allowPlaintext: options.migratePlaintext });
    }
  }

  /** True when records are written in plaintext (test mode). */
  get testMode(): boolean {
    return this.#testMode;
  }

  /** The stored form of a task's callback record. */
  seal(taskName: string, record: CallbackRecord): StoredCallback {
    if (this.#testMode) return { encoding: "plain", record };
    const keyring = this.#sealer.keyring;
    if (keyring === undefined) throw new InvalidArgumentError("encryptionKey", "a key", undefined);
    const bytes = this.#sealer.seal(toJson(record), { aad: taskName });
    return { encoding: "sealed", keyId: keyring.primaryId, bytes };
  }

  /**
   * Opens a stored record of the task `taskName`.
   *
   * @throws DecryptionError (its `reason` says why) when the record does not
   *   open: wrong or unknown key, tampering, another task's record, a plaintext
   *   record in production mode without `migratePlaintext`, or a malformed record.
   */
  open(taskName: string, stored: StoredCallback): CallbackRecord {
    if (stored.encoding === "plain") {
      if (!this.#testMode && !this.#migratePlaintext) {
        throw new DecryptionError(
          `The record of task ${JSON.stringify(taskName)} is stored in plaintext (written in test mode) and ` +
            "this production-mode scheduler does not open plaintext records; pass `migratePlaintext: true` " +
            "to open and re-seal them",
          { reason: "plaintext-refused" },
        );
      }
      return checkRecord(taskName, stored.record);
    }
    const opened = this.#sealer.open(stored.bytes, {
      aad: taskName,
      allowPlaintext: this.#migratePlaintext || this.#testMode,
    });
    return checkRecord(taskName, opened);
  }

  /**
   * Whether a stored record should be written again: in production mode, when
   * it is plaintext or sealed with a key other than the primary.
   */
  needsReseal(stored: StoredCallback): boolean {
    if (this.#testMode) return false;
    if (stored.encoding === "plain") return true;
    const keyring = this.#sealer.keyring;
    return keyring !== undefined && needsReseal(stored.bytes, keyring);
  }
}

function hasEnvKey(env: Environment | undefined): boolean {
  const source = env ?? process.env;
  return (
    (source.ORCHESTRATOR_ENCRYPTION_KEY ?? "").trim() !== "" ||
    (source.ORCHESTRATOR_ENCRYPTION_KEYS ?? "").trim() !== ""
  );
}

/** The record as JSON (an absent payload is left out, and comes back as undefined). */
function toJson(record: CallbackRecord): JsonValue {
  const callback = record.callback as unknown as JsonValue;
  return record.payload === undefined
    ? { callback }
    : { callback, payload: record.payload as JsonValue };
}

function checkRecord(taskName: string, value: unknown): CallbackRecord {
  const record = value as { callback?: CallbackRef; payload?: unknown } | null;
  const ref = record?.callback;
  const valid =
    ref !== undefined &&
    ref !== null &&
    (ref.kind === "inline" ||
      (ref.kind === "handler" && typeof ref.name === "string") ||
      (ref.kind === "module" && typeof ref.module === "string" && typeof ref.export === "string"));
  if (!valid) {
    throw new DecryptionError(
      `The record of task ${JSON.stringify(taskName)} opened, but it is not a callback record`,
      { reason: "malformed" },
    );
  }
  return { callback: ref, payload: record?.payload };
}
