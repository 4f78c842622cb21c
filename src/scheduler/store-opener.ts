import type { DurableTasks } from "../durable/durable-tasks.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What opening the Scheduler's store needs. */
export interface StoreOpenerDeps {
  readonly store: Store;
  readonly nodeId: string;
  readonly clock: Clock;
  /** A scheduler that does not hold its node id exclusively (`oneShot`). */
  readonly oneShot: boolean;
  readonly durable: DurableTasks;
  /** The store lost this node's hold on its id and another process took the id. */
  onNodeTaken(): void;
}

/**
 * The Scheduler's store, opened once on first need: for this node id, then
 * the durable tasks prepared. A failed opening is tried again by the next caller.
 */
export class StoreOpener {
  readonly #deps: StoreOpenerDeps;
  #opened: Promise<void> | undefined;
  #isOpen = false;

  constructor(deps: StoreOpenerDeps) {
    this.#deps = deps;
  }

  /** True once the store is open and the durable tasks prepared. */
  get isOpen(): boolean {
    return this.#isOpen;
  }

  /** Opens the store (once). */
  ready(): Promise<void> {
    const deps = this.#deps;
    this.#opened ??= deps.store
      .open({
        nodeId: deps.nodeId,
        clock: deps.clock,
        exclusiveNode: !deps.oneShot,
        onNodeTaken: () => deps.onNodeTaken(),
      })
      .then(() => deps.durable.prepare())
      .then(
        () => {
          this.#isOpen = true;
        },
        (error: unknown) => {
          this.#opened = undefined;
          throw error;
        },
      );
    return this.#opened;
  }
}
