import type { EventEmitter } from "node:events";
import { NodeIdInUseError } from "../errors.js";
import { safeEmit, type SchedulerEvents } from "../events.js";
import { safeLog } from "../logger.js";
import { PendingCalls } from "./pending-calls.js";
import type { SchedulerComponents } from "./scheduler-components.js";
import { SchedulerLifecycle } from "./scheduler-lifecycle.js";
import type { SchedulerSettings } from "./scheduler-settings.js";
import { StoreOpener } from "./store-opener.js";
import { TaskWrites } from "./task-writes.js";

/** The parts of a Scheduler that its public methods call besides its components. */
export interface SchedulerParts {
  readonly opener: StoreOpener;
  readonly pending: PendingCalls;
  readonly writes: TaskWrites;
  readonly lifecycle: SchedulerLifecycle;
}

/**
 * Builds, over `components`, what waits for `scheduler`'s store to open:
 * the opener (which reports on `scheduler` a node id taken by another
 * process), `runPending()` calls, the store's side of task changes, and
 * `start()`/`stop()`.
 */
export function createSchedulerParts(
  scheduler: EventEmitter<SchedulerEvents>,
  components: SchedulerComponents,
  settings: SchedulerSettings,
): SchedulerParts {
  const { store, nodeId, clock, logger } = settings;
  const opener = new StoreOpener({
    store,
    nodeId,
    clock,
    oneShot: settings.oneShot,
    durable: components.durable,
    onNodeTaken: () => reportNodeTaken(scheduler, settings),
  });
  const pending = new PendingCalls({ ...components, opener });
  const writes = new TaskWrites({ ...components, store, logger, opener });
  const lifecycle = new SchedulerLifecycle({
    ...components,
    clock,
    ready: () => opener.ready(),
    openingSettled: () => pending.openingSettled(),
  });
  return { opener, pending, writes, lifecycle };
}

/** The store lost this node's hold on its id (a lost connection) and another process took the id. */
function reportNodeTaken(
  scheduler: EventEmitter<SchedulerEvents>,
  { logger, nodeId, store }: SchedulerSettings,
): void {
  const error = new NodeIdInUseError(nodeId, `the ${store.kind} store`);
  safeLog(logger, "error", { nodeId, err: error }, error.message);
  safeEmit(scheduler, logger, "scheduler:error", { error, context: "node-id" });
}
