import type { Keyring } from "../crypto/keyring.js";
import { isDaemonSecretVariable } from "./child-env.js";
import { listEnvRefs } from "./env-refs.js";
import type { StoreLocation } from "./store-url.js";

/** What a secret is replaced with. */
export const REDACTED = "[REDACTED]";

/**
 * Secrets shorter than this (in characters) are not redacted: replacing every
 * occurrence of a short word would mangle the output and hide nothing worth it.
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * A kept text cut from a longer one at its start (a tail) or at its end (a
 * preview) may hold part of a secret; at least this many characters of one
 * at the cut are redacted too.
 */
const MIN_PARTIAL_LENGTH = 4;

/** Which ends of a text were cut from a longer one. */
export interface TextCut {
  /** The text is a tail: what came before it was dropped. */
  readonly start?: boolean;
  /** The text is a preview: what came after it was dropped. */
  readonly end?: boolean;
}

/** Something that hides secrets in text before it is stored or logged. */
export interface Redactor {
  /** `text` with every known secret replaced by {@link REDACTED}. */
  redact(text: string, cut?: TextCut): string;
}

/** The encodings a user may have written a key in: base64 (standard, URL-safe, padded or not) and hex. */
function keyForms(key: Buffer): string[] {
  const base64 = key.toString("base64");
  const url = key.toString("base64url");
  const hex = key.toString("hex");
  return [
    base64,
    base64.replace(/=+$/, ""),
    url,
    `${url}${"=".repeat(base64.length - url.length)}`,
    hex,
    hex.toUpperCase(),
  ];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The secrets the daemon knows (key material, tokens, the values of `${NAME}`
 * references it resolved), replaced by {@link REDACTED} in captured output,
 * error messages and HTTP body previews before they are stored or logged.
 * Redact the final text, not stream chunks: a secret may straddle two chunks.
 */
export class SecretRedactor implements Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  /** How many distinct secret strings are known. */
  get size(): number {
    return this.#secrets.size;
  }

  /** Adds a secret (surrounding whitespace ignored); shorter than {@link MIN_SECRET_LENGTH} is ignored. */
  add(value: string | undefined): void {
    const text = value?.trim();
    if (text === undefined || text.length < MIN_SECRET_LENGTH || this.#secrets.has(text)) return;
    this.#secrets.add(text);
    this.#pattern = undefined;
  }

  /** Adds every key of a keyring, in each encoding it could have been written in. */
  addKeyring(keyring: Keyring): void {
    for (const id of keyring.ids) {
      const material = keyring.key(id)?.export();
      if (material === undefined) continue;
      try {
        for (const form of keyForms(material)) this.add(form);
      } finally {
        material.fill(0);
      }
    }
  }

  /** Adds the values of the variables that `${NAME}` references in `values` name. */
  addReferencedValues(
    values: Iterable<string>,
    env: Readonly<Record<string, string | undefined>>,
  ): void {
    for (const value of values) for (const name of listEnvRefs(value)) this.add(env[name]);
  }

  redact(text: string, cut: TextCut = {}): string {
    if (this.#secrets.size === 0 || text === "") return text;
    const head = cut.start ? this.#partialAt(text, "start") : 0;
    const tail = cut.end ? this.#partialAt(text, "end") : 0;
    if (head + tail >= text.length) return REDACTED;
    this.#pattern ??= new RegExp(
      [...this.#secrets]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    const middle = text.slice(head, text.length - tail).replace(this.#pattern, REDACTED);
    return `${head > 0 ? REDACTED : ""}${middle}${tail > 0 ? REDACTED : ""}`;
  }

  /**
   * Length of the longest part of a secret cut off at one side of `text`: an
   * end of a secret that `text` starts with, or a beginning it ends with.
   */
  #partialAt(text: string, side: "start" | "end"): number {
    let longest = 0;
    for (const secret of this.#secrets) {
      for (
        let length = secret.length - 1;
        length >= MIN_PARTIAL_LENGTH && length > longest;
        length--
      ) {
        const cut =
          side === "start"
            ? text.startsWith(secret.slice(secret.length - length))
            : text.endsWith(secret.slice(0, length));
        if (cut) longest = length;
      }
    }
    return longest;
  }
}

/** What {@link createDaemonRedactor} learns secrets from. */
export interface DaemonSecrets {
  /** The daemon's environment: the values of its own secret variables are added. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The keys the store's records are sealed with (from the environment or the key file). */
  readonly keyring?: Keyring;
  /** The store: the password of a PostgreSQL URL is added. */
  readonly store?: StoreLocation;
}

/**
 * A redactor that knows the daemon's own secrets: the values of the
 * `ORCHESTRATOR_*` credential variables, every key of the keyring in every
 * encoding, and the password of a PostgreSQL `--store` URL. Add a generated
 * dashboard token and resolved `${NAME}` values as they become known.
 */
export function createDaemonRedactor(secrets: DaemonSecrets): SecretRedactor {
  const redactor = new SecretRedactor();
  for (const [name, value] of Object.entries(secrets.env)) {
    if (isDaemonSecretVariable(name)) redactor.add(value);
  }
  if (secrets.keyring !== undefined) redactor.addKeyring(secrets.keyring);
  if (secrets.store?.kind === "postgres") {
    const password = new URL(secrets.store.connectionString).password;
    redactor.add(password);
    try {
      redactor.add(decodeURIComponent(password));
    } catch {
      // A malformed %-escape: the password is added as written above.
    }
  }
  return redactor;
}
