import { cliActor, recordAudit } from "./audit.js";
import { EXIT } from "./io.js";
import {
  guarded,
  requireTask,
  UsageError,
  withStore,
  type StoreCommandContext,
  type StoreFlags,
} from "./store-access.js";

/** How long `orchestrator cancel` waits for a daemon to take its request. */
export const CANCEL_WAIT_MS = 5_000;

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * `orchestrator cancel <task>`: files a cancel request in the store and waits
 * (up to {@link CANCEL_WAIT_MS}) for the daemon running the task to take it:
 * that daemon aborts the run's signal, stops a command's process group and
 * records the run `cancelled`. Exit 0 when a daemon cancelled it, 1 when none
 * did (nothing was running; the request is withdrawn), 2 for an unknown task.
 */
export function runCancelCommand(
  task: string,
  flags: StoreFlags,
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, () =>
    withStore(flags, context, async (store) => {
      await requireTask(store, task);
      const records = store.records;
      if (
        records?.requestCancel === undefined ||
        records.cancelRequests === undefined ||
        records.deleteCancelRequest === undefined
      ) {
        throw new UsageError(
          "This store keeps no cancel requests: cancel from the dashboard or API",
        );
      }
      const requestedAt = context.clock.nowMs();
      await records.requestCancel({ taskName: task, requestedAt, actor: cliActor(context.env) });
      const audit = (result: "ok" | "failed", detail: string): Promise<void> =>
        recordAudit(store, context, { action: "cancel", taskName: task, result, detail });
      for (let waited = 0; waited < CANCEL_WAIT_MS; waited += 100) {
        await delay(100);
        const pending = await records.cancelRequests();
        if (!pending.some((r) => r.taskName === task && r.requestedAt === requestedAt)) {
          await audit("ok", "a daemon cancelled the running run");
          context.io.stdout(`Cancelled the running run of ${JSON.stringify(task)}\n`);
          return EXIT.ok;
        }
      }
      // Withdrawn, unless a daemon took it at the last moment.
      if (!(await records.deleteCancelRequest(task, requestedAt))) {
        await audit("ok", "a daemon cancelled the running run");
        context.io.stdout(`Cancelled the running run of ${JSON.stringify(task)}\n`);
        return EXIT.ok;
      }
      await audit("failed", "nothing was running");
      context.io.stderr(
        `Nothing of ${JSON.stringify(task)} is running in a daemon on this store (waited ${CANCEL_WAIT_MS / 1000} s)\n`,
      );
      return EXIT.invalid;
    }),
  );
}
