/**
 * LISTEN/NOTIFY for the PostgreSQL store: one dedicated connection per store,
 * listening on the schema's channel while anyone watches. Writers notify with
 * `pg_notify` inside the statement that writes, so a change is announced if
 * and only if it commits. A lost connection is replaced with exponential
 * backoff (and jitter), and the channel subscribed again.
 */
import type { Notification, Pool, PoolClient } from "pg";
import type { StoreChange } from "../store.js";
import { StoreError } from "../../errors.js";

/** What travels in a notification payload (JSON). */
export interface ChangeMessage extends StoreChange {
  /** The id of the store instance that made the change; it is not told about its own changes. */
  readonly origin: string;
}

/** The connection state a {@link Notifier} reports. */
export type NotifierStatus = "listening" | "lost";

/** Options of {@link Notifier}. */
export interface NotifierOptions {
  readonly pool: Pool;
  /** Channel name, unquoted. */
  readonly channel: string;
  /** This store instance's id: notifications it sent itself are not delivered. */
  readonly origin: string;
  /** @defaultValue 100 */
  readonly initialBackoffMs?: number;
  /** @defaultValue 5000 */
  readonly maxBackoffMs?: number;
  /** Told when the subscription is made, lost, or made again. Must not throw. */
  readonly onStatus?: (status: NotifierStatus, error?: unknown) => void;
}

/** The defaults of {@link NotifierOptions}. */
export const NOTIFIER_DEFAULTS = Object.freeze({
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
} satisfies Required<Pick<NotifierOptions, "initialBackoffMs" | "maxBackoffMs">>);

/** Encodes a change for `pg_notify`. */
export function encodeChange(change: StoreChange, origin: string): string {
  return JSON.stringify({ kind: change.kind, taskName: change.taskName, origin });
}

function decodeChange(payload: string | undefined): ChangeMessage | undefined {
  if (payload === undefined) return undefined;
  try {
    const value = JSON.parse(payload) as Partial<ChangeMessage>;
    if (
      (value.kind === "upsert" || value.kind === "delete" || value.kind === "trigger") &&
      typeof value.taskName === "string" &&
      typeof value.origin === "string"
    ) {
      return { kind: value.kind, taskName: value.taskName, origin: value.origin };
    }
  } catch {
    // Not ours: someone else notified on the channel.
  }
  return undefined;
}

/**
 * Holds the LISTEN connection while at least one listener is registered and
 * delivers every change made by another store instance. Listener errors are
 * contained (a throwing listener never stops delivery to the others).
 */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #onListening = new Map<(change: StoreChange) => void, (resubscribed: boolean) => void>();
  #client: PoolClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #closed = false;
  #connecting = false;
  /** How many times LISTEN succeeded (1 after the first subscription, +1 per reconnection). */
  subscriptions = 0;
  #waiters: (() => void)[] = [];

  constructor(options: NotifierOptions) {
    this.#options = options;
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  /**
   * Adds a listener (connecting on the first one); returns the function that
   * removes it. `onListening` is called each time LISTEN is established for
   * it: at once if it already is, and after every reconnection (`true`).
   */
  add(
    listener: (change: StoreChange) => void,
    onListening?: (resubscribed: boolean) => void,
  ): () => void {
    this.#listeners.add(listener);
    if (onListening !== undefined) {
      this.#onListening.set(listener, onListening);
      if (this.#client !== undefined) this.#tellListening(onListening, false);
    }
    this.#ensure();
    return () => {
      this.#onListening.delete(listener);
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#disconnect();
    };
  }

  /** Resolves once LISTEN is active (at once if it is). */
  ready(): Promise<void> {
    if (this.#client !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops listening for good. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#onListening.clear();
    this.#disconnect();
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  #ensure(): void {
    if (this.#closed || this.#client !== undefined || this.#connecting || this.#timer) return;
    this.#connecting = true;
    void this.#connect();
  }

  async #connect(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.#options.pool.connect();
      client.on("notification", this.#onNotification);
      client.on("error", this.#onLost);
      client.on("end", this.#onEnd);
      await client.query(`listen "${this.#options.channel}"`);
    } catch (error) {
      this.#connecting = false;
      if (client !== undefined) this.#drop(client, error);
      this.#retry(error);
      return;
    }
    this.#connecting = false;
    if (this.#closed || this.#listeners.size === 0) {
      this.#drop(client);
      return;
    }
    this.#client = client;
    this.#attempt = 0;
    this.subscriptions += 1;
    this.#options.onStatus?.("listening");
    const resubscribed = this.subscriptions > 1;
    for (const onListening of this.#onListening.values())
      this.#tellListening(onListening, resubscribed);
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  #tellListening(onListening: (resubscribed: boolean) => void, resubscribed: boolean): void {
    try {
      onListening(resubscribed);
    } catch {
      // Contained, as listeners are.
    }
  }

  readonly #onNotification = (message: Notification): void => {
    if (message.channel !== this.#options.channel) return;
    const change = decodeChange(message.payload);
    if (change === undefined || change.origin === this.#options.origin) return;
    const delivered: StoreChange = { kind: change.kind, taskName: change.taskName };
    for (const listener of this.#listeners) {
      try {
        listener(delivered);
      } catch {
        // Contained: one listener's failure must not stop the others.
      }
    }
  };

  readonly #onLost = (error: unknown): void => {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    this.#drop(client, error);
    this.#options.onStatus?.("lost", error);
    this.#retry(error);
  };

  readonly #onEnd = (): void => {
    this.#onLost(new StoreError("The LISTEN connection ended"));
  };

  #retry(error: unknown): void {
    if (this.#closed || this.#listeners.size === 0 || this.#timer !== undefined) return;
    const base = Math.min(
      this.#options.maxBackoffMs ?? NOTIFIER_DEFAULTS.maxBackoffMs,
      (this.#options.initialBackoffMs ?? NOTIFIER_DEFAULTS.initialBackoffMs) * 2 ** this.#attempt,
    );
    this.#attempt += 1;
    // Jitter spreads the reconnections of a cluster that lost the server at the same moment.
    const delay = base / 2 + Math.random() * (base / 2);
    void error;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#ensure();
    }, delay);
    this.#timer.unref();
  }

  #disconnect(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    client.query(`unlisten "${this.#options.channel}"`).then(
      () => this.#drop(client),
      (error: unknown) => this.#drop(client, error),
    );
  }

  #drop(client: PoolClient, error?: unknown): void {
    client.off("notification", this.#onNotification);
    client.off("error", this.#onLost);
    client.off("end", this.#onEnd);
    // A client that listened goes back to the pool only if it unlistened cleanly.
    client.on("error", () => undefined);
    try {
      client.release(error instanceof Error ? error : error === undefined ? undefined : true);
    } catch {
      // Released already (the pool was ended under us).
    }
  }
}
