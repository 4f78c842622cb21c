/** The messages between the suite and its scheduler nodes (chaos/node.ts), over the IPC channel of `fork`. */
import type { ActiveWindow, WorkTask } from "./workload.js";

/** Where a node's store is. */
export type StoreSpec =
  | { readonly kind: "postgres"; readonly url: string; readonly schema: string }
  | { readonly kind: "sqlite"; readonly path: string };

/** A node's configuration (one JSON argument). */
export interface NodeConfig {
  /** The scheduler's node id (two processes may be given the same one). */
  readonly nodeId: string;
  /** This process's own name in the suite's reports (`n1`, `n1#2` after a restart, …). */
  readonly tag: string;
  readonly store: StoreSpec;
  readonly leaseMs: number;
  /** This node's clock minus the real clock, in ms (+3000: three seconds ahead). */
  readonly clockOffsetMs: number;
  /**
   * The workload is in the store already (a node started during the window):
   * the scheduler restores it at `start()`, as a restarted process does.
   * Otherwise the suite sends `register` once every first node is ready.
   */
  readonly restart?: boolean;
}

/** A callback started: the first side effect, fenced like the others. */
export interface BeginMessage {
  readonly type: "begin";
  /** Unique per callback call: `${tag}:${n}`. */
  readonly id: string;
  readonly task: string;
  readonly slot: number;
  readonly attempt: number;
  readonly nodeId: string;
  readonly tag: string;
  /** Real (unskewed) epoch ms at the callback's entry; the suite turns it into database-clock time. */
  readonly at: number;
  /** `ctx.fencingToken`: grows with every claim the store grants. */
  readonly token: number;
  /** What the token fences: the task, or `task@slot`. */
  readonly resource: string;
}

/** The handler's last side effect, awaited: the sink answers with `done-ack`. */
export interface DoneMessage {
  readonly type: "done";
  readonly request: number;
  readonly id: string;
  readonly at: number;
}

/** A callback ended without its last side effect (failed as planned, aborted, refused). */
export interface EndMessage {
  readonly type: "end";
  readonly id: string;
  readonly at: number;
  readonly outcome: "failed" | "aborted" | "refused" | "error";
  readonly detail?: string;
}

/** Every 100 ms: what the node is doing. */
export interface StatusMessage {
  readonly type: "status";
  /** Callbacks started and not ended. */
  readonly inFlight: number;
  /** Scheduler events counted so far (`lease:lost`, `scheduler:error`, `store:unreachable`, …). */
  readonly counts: Readonly<Record<string, number>>;
  /** The process's resident set size, bytes (`process.memoryUsage.rss()`). */
  readonly rss: number;
}

export type NodeMessage =
  | { readonly type: "ready"; readonly pid: number }
  /** The scheduler refused to start: its node id is held by another live process (NodeIdInUseError). */
  | { readonly type: "refused"; readonly code: string; readonly message: string }
  | { readonly type: "registered"; readonly count: number }
  | { readonly type: "stopped"; readonly at: number }
  | StatusMessage
  | BeginMessage
  | DoneMessage
  | EndMessage;

export type SuiteMessage =
  | {
      readonly type: "register";
      readonly tasks: readonly WorkTask[];
      readonly window: ActiveWindow;
    }
  /** Graceful stop: `scheduler.stop()`, report `stopped`, stay `lingerMs` (callbacks started then are violations), exit. */
  | { readonly type: "stop"; readonly lingerMs: number }
  | { readonly type: "done-ack"; readonly request: number; readonly accepted: boolean };
