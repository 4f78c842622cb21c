import { findCliKey } from "../open-store.js";
import { recordAudit } from "./audit.js";
import { EXIT } from "./io.js";
import {
  guarded,
  requireTask,
  UsageError,
  withStore,
  type StoreCommandContext,
  type StoreFlags,
} from "./store-access.js";
import { inspectTasks } from "./task-inspection.js";

/** The flags of `orchestrator remove`. */
export interface RemoveFlags extends StoreFlags {
  /** Remove a task even when a schedule file defines it (or when that cannot be told). */
  readonly force?: boolean;
}

/**
 * `orchestrator remove <task>`: deletes a task from the store; its run
 * history stays. A task the daemon added from a schedule file (the mark in
 * its sealed payload) is refused without `--force`, since the daemon would
 * add it back at its next reload: remove it from the file instead. Without
 * any key the mark cannot be read, and `--force` is needed too. A
 * quarantined task (its record does not open with this key) can be removed:
 * that is the way out of a quarantine, and if a file still defines it the
 * daemon adds it again, sealed with its own key.
 *
 * A daemon on the same SQLite file drops the task within a second (it reads
 * the store's task list); on PostgreSQL every node is notified.
 */
export function runRemoveCommand(
  task: string,
  flags: RemoveFlags,
  context: StoreCommandContext,
): Promise<number> {
  const { io } = context;
  return guarded(io, () =>
    withStore(flags, context, async (store, location) => {
      const record = await requireTask(store, task);
      const key = await findCliKey(location, context.env);
      const [inspected] = inspectTasks([record], key);
      const name = JSON.stringify(task);
      const force = flags.force === true;
      if (inspected?.fromScheduleFile === true && !force) {
        throw new UsageError(
          `Task ${name} was added from a schedule file: remove it from the file and reload the daemon ` +
            "(SIGHUP, or --watch), which deletes it; or pass --force to delete it from the store now " +
            "(the daemon adds it back at its next reload while the file defines it)",
        );
      }
      if (inspected?.checked === false && !force) {
        throw new UsageError(
          `No encryption key found to read the record of task ${name}, so whether a schedule file ` +
            "defines it cannot be told (set ORCHESTRATOR_ENCRYPTION_KEY(S), or pass --force)",
        );
      }
      if (!(await store.deleteTask(task))) {
        throw new UsageError(`Task ${name} was removed meanwhile`);
      }
      await recordAudit(store, context, {
        action: "remove",
        taskName: task,
        result: "ok",
        detail: force ? "--force" : null,
      });
      io.stdout(`${name} removed from the store (its run history is kept)\n`);
      if (inspected?.fromScheduleFile === true) {
        io.stderr(
          `warning: a schedule file defines ${name}: the daemon adds it back at its next reload ` +
            "unless you remove it from the file\n",
        );
      } else if (inspected?.state === "quarantined") {
        io.stderr(
          `note: the record of ${name} did not open with this key, so whether a schedule file ` +
            "defines it is unknown; if one does, the daemon adds it again at its next reload\n",
        );
      }
      return EXIT.ok;
    }),
  );
}
