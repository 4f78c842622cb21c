import type { ClusterSync } from "../cluster/cluster-sync.js";
import type { Task, TaskInfo } from "../core/task.js";
import type { DurableTasks } from "../durable/durable-tasks.js";
import { buildTaskRecord, progressOf } from "../durable/task-record.js";
import type { RunEngine } from "../engine/run-engine.js";
import { DuplicateTaskError, OrchestratorError, StoreError } from "../errors.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import type { StoreOpener } from "./store-opener.js";

/** What the Scheduler's task writes need. */
export interface TaskWritesDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly tasks: Map<string, Task>;
  readonly engine: RunEngine;
  readonly durable: DurableTasks;
  readonly sync: ClusterSync;
  readonly opener: StoreOpener;
}

/**
 * The store's side of `Scheduler.registerTask`, `pauseTask` and
 * `resumeTask`: a registered task's record written (a refusal undoes the
 * registration), a task's progress saved.
 */
export class TaskWrites {
  readonly #deps: TaskWritesDeps;

  constructor(deps: TaskWritesDeps) {
    this.#deps = deps;
  }

  /**
   * Stores `task`, just registered (`replace`: it replaced a task of its
   * name); resolves with its snapshot once the store has it. A refusal undoes
   * the registration.
   */
  registered(task: Task, replace: boolean, nowMs: number): Promise<TaskInfo> {
    const { store, durable, sync, opener } = this.#deps;
    const name = task.name;
    if (store.putTaskSync !== undefined) {
      try {
        store.putTaskSync(buildTaskRecord(task, durable.storedCallback(task), nowMs), {
          replace,
        });
      } catch (error) {
        return this.#registrationFailed(name, Promise.reject(this.#undoRegistration(task, error)));
      }
      return Promise.resolve(task.info());
    }
    // Sealed once the store is open (a missing key fails there, with its own message).
    const put = (): Promise<void> =>
      store.putTask(buildTaskRecord(task, durable.storedCallback(task), nowMs), { replace });
    const stored = sync.guard(name, (opener.isOpen ? Promise.resolve() : opener.ready()).then(put));
    return this.#registrationFailed(
      name,
      stored.then(
        () => task.info(),
        (error: unknown) => {
          if (error instanceof DuplicateTaskError && !replace && store.durable) {
            // Stored by another process, or before start() loaded it: identical is a no-op.
            return durable.adoptStored(task);
          }
          throw this.#undoRegistration(task, error);
        },
      ),
    );
  }

  /** Saves `task`'s progress (paused, resumed). */
  async progress(task: Task): Promise<void> {
    // A quarantined task's record is left exactly as it is.
    if (task.state === "quarantined") return;
    const { store, sync, opener } = this.#deps;
    await opener.ready();
    await sync.guard(task.name, store.updateTaskProgress(task.name, progressOf(task)));
  }

  /**
   * A registration's promise, handled here too: a caller that does not await
   * it (`void registerTask(...)`) gets a logged error, not an unhandled
   * rejection that ends the process; one that awaits it still gets the rejection.
   */
  #registrationFailed(taskName: string, registration: Promise<TaskInfo>): Promise<TaskInfo> {
    registration.catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      safeLog(
        this.#deps.logger,
        "error",
        { err: error, taskName },
        `Task ${JSON.stringify(taskName)} was not registered: ${reason}`,
      );
    });
    return registration;
  }

  /**
   * The store refused a registration: undo it, so memory and store agree.
   * Returns the error to reject with, whose message names the cause: an
   * error of this library's own (a missing key, a node id in use, a
   * duplicate) as it is; a failure of the store wrapped, with its message.
   */
  #undoRegistration(task: Task, error: unknown): Error {
    const { tasks, engine } = this.#deps;
    if (tasks.get(task.name) === task) {
      tasks.delete(task.name);
      engine.detach(task);
    }
    if (error instanceof OrchestratorError && !(error instanceof StoreError)) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new StoreError(`Could not store task ${JSON.stringify(task.name)}: ${reason}`, {
      cause: error,
    });
  }
}
