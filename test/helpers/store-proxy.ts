import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { Store } from "../../src/store/store.js";

/**
 * The store as a Proxy whose methods named in `overrides` are replaced (each
 * given the real store), every other method bound to it: a node's view of
 * the store changed in one place, the rest untouched.
 */
export function storeWith(
  store: PostgresStore,
  overrides: { readonly [name: string]: (target: PostgresStore) => unknown },
): Store {
  return new Proxy(store, {
    get(target, property) {
      const override = typeof property === "string" ? overrides[property] : undefined;
      if (override !== undefined) return override(target);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function"
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/** The statuses of the history rows of each `task@scheduledMs` from `from` (inclusive) to `to`, in `schema`. */
export async function statusesBySlot(
  admin: { query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }> },
  schema: string,
  from: number,
  to: number,
): Promise<Map<string, string[]>> {
  const rows = (
    await admin.query<{ task: string; at: number; status: string; node: string }>(
      `select task_name as task, (extract(epoch from scheduled_at) * 1000)::float8 as at,
         status, node_id as node
       from "${schema}".runs where scheduled_at >= $1 and scheduled_at < $2`,
      [new Date(from), new Date(to)],
    )
  ).rows;
  const bySlot = new Map<string, string[]>();
  for (const row of rows) {
    const key = `${row.task}@${row.at}`;
    bySlot.set(key, [...(bySlot.get(key) ?? []), `${row.status} by ${row.node}`]);
  }
  return bySlot;
}

/**
 * A Scheduler sharing the work (real clock) on `schema`, its store seen
 * through `wrap`, handler "tick" defined; `live` collects each
 * `nodes:changed`; what closes it is pushed onto `closers`.
 */
export function sharingNode(options: {
  readonly connectionString: string;
  readonly schema: string;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly encryptionKey: Buffer;
  readonly wrap: (store: PostgresStore) => Store;
  readonly closers: (() => Promise<void>)[];
}): { scheduler: Scheduler; live: string[][] } {
  const pgStore = new PostgresStore({
    connectionString: options.connectionString,
    schema: options.schema,
  });
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store: options.wrap(pgStore),
    nodeId: options.nodeId,
    leaseMs: options.leaseMs,
    encryptionKey: options.encryptionKey,
    logger: silentLogger,
    timezone: "UTC",
    shareWork: true,
  });
  const live: string[][] = [];
  scheduler.on("nodes:changed", (event) => live.push([...event.live]));
  scheduler.defineHandler("tick", () => undefined);
  options.closers.push(async () => {
    await scheduler.stop();
    await pgStore.close();
    await dispatcher.close();
  });
  return { scheduler, live };
}
