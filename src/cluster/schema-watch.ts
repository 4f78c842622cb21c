/**
 * Upgrades while running (issue 17, item 6). A newer binary started beside
 * this node may migrate the shared schema to a layout this code does not
 * know. Each maintenance round re-reads the schema's version; once it is
 * newer than this code's newest, the node stops claiming (no run started, no
 * skip or miss recorded: the newer nodes do that) and says so at error level.
 * Runs it already holds go on and are recorded: migrations keep the history's
 * columns and the claim statements working for older nodes (migration 11
 * moves the history online precisely so), and a held run left unrecorded
 * would only be reaped and retried elsewhere.
 */
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";

/** What a {@link SchemaWatch} needs from its Scheduler. */
export interface SchemaWatchHost {
  readonly store: Pick<Store, "kind" | "schemaVersion" | "latestSchemaVersion">;
  readonly logger: Logger;
  /** Stops every claim of this node (see `LeasedStore.stopClaiming`). */
  stopClaiming(reason: string): void;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** The versions found when the schema turned out newer than this code. */
export interface NewerSchema {
  readonly found: number;
  readonly known: number;
}

/** Watches the store's schema version (stores that give `latestSchemaVersion` only). */
export class SchemaWatch {
  readonly #host: SchemaWatchHost;
  #newer: NewerSchema | undefined;

  constructor(host: SchemaWatchHost) {
    this.#host = host;
  }

  /** The versions, once the schema was found newer than this code; undefined before. */
  get newer(): NewerSchema | undefined {
    return this.#newer;
  }

  /** Reads the schema version; stops claiming the first time it is newer. A failed read is left to the next round. */
  async check(): Promise<void> {
    const { store } = this.#host;
    const known = store.latestSchemaVersion;
    if (known === undefined || this.#newer !== undefined) return;
    let found: number;
    try {
      found = await store.schemaVersion();
    } catch {
      return; // The store's health is watched elsewhere.
    }
    if (found <= known) return;
    this.#newer = { found, known };
    const message =
      `The ${store.kind} schema is at version ${found}, newer than this orchestrator knows ` +
      `(${known}): a newer orchestrator migrated it. This node stops claiming runs (the runs it ` +
      `holds finish and are recorded); upgrade it to a version that knows schema ${found} and restart it.`;
    this.#host.stopClaiming(message);
    safeLog(this.#host.logger, "error", { schemaVersion: found, knownVersion: known }, message);
    this.#host.emit("scheduler:error", { error: new Error(message), context: "schema" });
  }
}
