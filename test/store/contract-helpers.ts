/** Shared pieces of the store conformance suite (see contract.ts). */
import { randomBytes } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Store, StoredCallback, TaskRecord, RunRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

/** What the suite needs from a store implementation: a fresh, empty, unopened store. */
export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** A store opened by the suite, with the ManualClock it was given. */
export interface OpenedStore {
  readonly store: Store;
  readonly clock: ManualClock;
}

export const NODE_A = "node-a";
export const NODE_B = "node-b";

/**
 * Runs `body` against a fresh store opened as NODE_A on a ManualClock, then
 * closes it and removes what it left behind, whether `body` passed or not.
 */
export async function withStore(
  makeStore: MakeStore,
  body: (opened: OpenedStore) => Promise<void>,
): Promise<void> {
  const { store, cleanup } = await makeStore();
  const clock = new ManualClock("2030-06-01T12:00:00Z");
  try {
    await store.open({ nodeId: NODE_A, clock });
    await body({ store, clock });
  } finally {
    await store.close();
    await cleanup();
  }
}

/**
 * Moves time until the store's clock is past `instant`. Stores on the given
 * clock pass at once; stores on a database clock pass when real time does
 * (a wait on a condition, not a fixed sleep).
 */
export async function passStoreTime(opened: OpenedStore, instant: number): Promise<void> {
  while ((await opened.store.now()) <= instant) {
    opened.clock.advance(Math.max(1, Math.min(1000, instant + 1 - opened.clock.nowMs())));
    await nextTurn();
  }
}

/** A sealed callback of `size` random bytes (every byte value appears when size ≥ 256). */
export function sealedCallback(size = 512, keyId = "key-2030"): StoredCallback {
  const bytes = new Uint8Array(size);
  bytes.set(randomBytes(size));
  for (let i = 0; i < Math.min(size, 256); i++) bytes[i] = i;
  return { encoding: "sealed", keyId, bytes };
}

/** A plain (test-mode) callback naming a handler, with a JSON payload. */
export function plainCallback(payload: unknown = { to: "ops@example.com", n: 1 }): StoredCallback {
  return {
    encoding: "plain",
    record: { callback: { kind: "handler", name: "send-report" }, payload },
  };
}

/** A complete task record with a cron schedule; `overrides` replaces fields. */
export function taskRecord(name: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    name,
    schedule: { kind: "cron", expression: "0 8 * * *", timezone: "Europe/Paris" },
    options: {
      timezone: "Europe/Paris",
      overlap: "skip",
      misfire: "run-once",
      misfireGraceMs: 1000,
      maxCatchUpRuns: 10,
      timeoutMs: 60_000,
      retries: { attempts: 3, backoffMs: 1000, factor: 2, maxBackoffMs: 30_000 },
      startAtMs: null,
      endAtMs: null,
      maxRuns: null,
      jitterMs: 0,
      dayMatch: null,
      dst: null,
    },
    callback: plainCallback(),
    state: "active",
    nextRunAt: Date.UTC(2030, 5, 2, 6),
    lastRunAt: null,
    lastStatus: null,
    runCount: 0,
    createdAt: Date.UTC(2030, 5, 1, 12),
    version: 1,
    ...overrides,
  };
}

/** A history row of a finished, successful run. */
export function runRecord(
  taskName: string,
  scheduledAt: number,
  overrides: Partial<RunRecord> = {},
): RunRecord {
  return {
    taskName,
    claimId: null,
    scheduledAt,
    startedAt: scheduledAt + 2,
    finishedAt: scheduledAt + 10,
    status: "succeeded",
    attempt: 1,
    nodeId: NODE_A,
    error: null,
    ...overrides,
  };
}

/** Settles all promises; returns the fulfilled values and the rejection reasons. */
export async function settle<T>(
  promises: readonly Promise<T>[],
): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  const values: T[] = [];
  const errors: unknown[] = [];
  for (const result of results) {
    if (result.status === "fulfilled") values.push(result.value);
    else errors.push(result.reason);
  }
  return { values, errors };
}
