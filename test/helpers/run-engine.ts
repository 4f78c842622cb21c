import { Dispatcher } from "../../src/core/dispatcher.js";
import { RunEngine, type RunEngineHost } from "../../src/engine/run-engine.js";
import { silentLogger } from "../../src/logger.js";
import type { Store } from "../../src/store/store.js";
import type { Clock } from "../../src/time/clock.js";

/**
 * A RunEngine as the Scheduler makes one, with the Scheduler's side reduced
 * to what a test names in `host` (events, tasks, the share…): node "test",
 * a fresh Dispatcher, nobody listening, no task or handler looked up.
 */
export function engineOver(
  clock: Clock,
  store: Store,
  host: Partial<RunEngineHost> = {},
): RunEngine {
  return new RunEngine({
    clock,
    store,
    dispatcher: new Dispatcher(),
    logger: silentLogger,
    nodeId: "test",
    leaseMs: 30_000,
    emit: () => {},
    hasListeners: () => false,
    task: () => undefined,
    handler: () => undefined,
    poke: () => {},
    ...host,
  });
}
