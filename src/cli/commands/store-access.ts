import { existsSync } from "node:fs";
import type { Store, TaskRecord } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import type { SignalSource } from "../daemon.js";
import { createStore } from "../open-store.js";
import { DEFAULT_STORE, parseStoreUrl, type StoreLocation } from "../store-url.js";
import { EXIT, type CommandIO } from "./io.js";

/** What every store command needs. */
export interface StoreCommandContext {
  readonly io: CommandIO;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where `trigger` hears SIGINT, SIGTERM and SIGHUP (`process`); none: it does not listen. */
  readonly signals?: SignalSource;
}

/** The `--store` flag every store command takes. */
export interface StoreFlags {
  readonly store?: string;
}

/** A usage error of a store command: printed as `error: …`, exit 2. */
export class UsageError extends Error {}

/** The node id store commands use in claims and history. */
export const CLI_NODE_ID = "orchestrator-cli";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The store location of a store command; a SQLite file must exist (a command never creates one). */
export function locate(flags: StoreFlags, context: StoreCommandContext): StoreLocation {
  const location = parseStoreUrl(flags.store ?? DEFAULT_STORE, context.cwd);
  if (location.kind === "sqlite" && !existsSync(location.path)) {
    throw new UsageError(
      `No database at ${location.path}: start \`orchestrator run\` there first, or pass --store`,
    );
  }
  return location;
}

/** Opens the store of `flags`, runs `use`, closes it. */
export async function withStore<T>(
  flags: StoreFlags,
  context: StoreCommandContext,
  use: (store: Store, location: StoreLocation) => Promise<T>,
): Promise<T> {
  const location = locate(flags, context);
  const store = await createStore(location);
  try {
    await store.open({ nodeId: `${CLI_NODE_ID}:${process.pid}`, clock: context.clock });
    return await use(store, location);
  } finally {
    await store.close().catch(() => {});
  }
}

/** The stored task named `name`; a UsageError naming the tasks there are when it does not exist. */
export async function requireTask(store: Store, name: string): Promise<TaskRecord> {
  const record = await store.getTask(name);
  if (record === undefined) {
    const names = (await store.listTasks()).map((task) => task.name);
    throw new UsageError(
      `No task named ${JSON.stringify(name)} in the store` +
        (names.length > 0 ? ` (tasks: ${names.join(", ")})` : " (it has no tasks)"),
    );
  }
  return record;
}

/** Runs a store command: prints `error: …` and returns 2 for a usage error, 1 for anything else. */
export async function guarded(io: CommandIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    io.stderr(`error: ${message(error)}\n`);
    return error instanceof UsageError ||
      (error as { code?: unknown }).code === "ERR_INVALID_ARGUMENT"
      ? EXIT.usage
      : 1;
  }
}
