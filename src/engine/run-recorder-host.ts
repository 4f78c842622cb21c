import type { SchedulerEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { Claim, Store } from "../store/store.js";

/** What a `RunRecorder` (engine/run-recorder.ts) needs from its Scheduler. */
export interface RunRecorderHost {
  readonly store: Store;
  readonly logger: Logger;
  readonly nodeId: string;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  hasListeners(event: keyof SchedulerEvents): boolean;
  /**
   * Shared stores: retries the finishing write of the run holding `claim`
   * while the store is unusable and the claim is held (else it is tried once).
   */
  readonly writeGate?: <T>(call: () => Promise<T>, claim: Claim) => Promise<T>;
  /**
   * Shared stores: a run's end could not be written, even through the gate
   * (its lease was lost meanwhile): stop renewing the claim, so that the run
   * is reaped (recorded `interrupted`, retried per policy) once the store is
   * usable, exactly as if this process had died then.
   */
  abandon?(claim: Claim): void;
  /**
   * Shared stores: retries a history write that holds no claim (a skip, a
   * miss) while the store is unusable, until it takes it (else it is tried once).
   */
  readonly settleGate?: <T>(call: () => Promise<T>) => Promise<T>;
  /** Shared stores: a finishing write went through at once (the store's health hears that such writes work). */
  finishWritten?(): void;
}
