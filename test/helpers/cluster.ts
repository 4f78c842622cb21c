/**
 * Starting scheduler cluster nodes (test/fixtures/cluster-node.ts) as child
 * processes and following what they report. Shared by test/cluster/*.test.ts
 * and bench/cluster.ts.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ClusterNodeConfig } from "../fixtures/cluster-node.js";

const NODE_SCRIPT = fileURLToPath(new URL("../fixtures/cluster-node.ts", import.meta.url));

/** A running node process and what it reported so far. */
export interface ClusterNodeProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** `task@scheduledAtMs#attempt` of every callback it started (as reported; the last 50 ms are lost on SIGKILL). */
  readonly started: string[];
  /** Per started callback (when `reportLateness`): ms from scheduled time to start. */
  readonly lateness: number[];
  /** The scheduled time (epoch ms) of each `lateness` entry. */
  readonly latenessAt: number[];
  /** Due runs whose claim another node won (when `reportLateness`). */
  refused: number;
  /** Wall-clock ms (parent's clock) when each `started` entry arrived. */
  readonly arrivals: number[];
  /** Tasks it holds, as last reported. */
  tasks: number;
  /** The live nodes it shares the work with, as last reported (`nodes:changed`). */
  live: readonly string[];
  /** Events counted by the node (`lease:lost`, `store:unreachable`, …), reported at a graceful stop. */
  counts: Record<string, number>;
  /** Resolves once the scheduler started. */
  readonly ready: Promise<void>;
  /** Resolves when the process exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Graceful stop: running callbacks finish, then the process exits. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL; resolves at exit. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Forks one node. */
export function startClusterNode(config: ClusterNodeConfig): ClusterNodeProcess {
  const child = fork(NODE_SCRIPT, [JSON.stringify(config)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const started: string[] = [];
  const lateness: number[] = [];
  const latenessAt: number[] = [];
  const arrivals: number[] = [];
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      failReady(new Error(`node ${config.nodeId} exited (${code ?? signal}) before it was ready`));
      resolve({ code, signal });
    }),
  );
  const node: ClusterNodeProcess = {
    id: config.nodeId,
    child,
    started,
    lateness,
    latenessAt,
    refused: 0,
    arrivals,
    tasks: 0,
    live: [],
    counts: {},
    ready,
    exited,
    stop() {
      if (child.connected) child.send("stop");
      return exited;
    },
    kill() {
      child.kill("SIGKILL");
      return exited;
    },
  };
  child.on(
    "message",
    (message: {
      ready?: boolean;
      tasks?: number;
      live?: string[];
      started?: string[];
      lateness?: number[];
      latenessAt?: number[];
      refused?: number;
      counts?: Record<string, number>;
    }) => {
      if (typeof message.tasks === "number") node.tasks = message.tasks;
      if (message.live !== undefined) node.live = message.live;
      if (message.counts !== undefined) node.counts = message.counts;
      if (message.started !== undefined) {
        const now = Date.now();
        for (const key of message.started) {
          started.push(key);
          arrivals.push(now);
        }
      }
      if (message.lateness !== undefined) for (const ms of message.lateness) lateness.push(ms);
      if (message.latenessAt !== undefined)
        for (const at of message.latenessAt) latenessAt.push(at);
      if (message.refused !== undefined) node.refused += message.refused;
      if (message.ready === true) markReady();
    },
  );
  return node;
}

/** `task@scheduledAtMs#attempt` → its parts. */
export function parseStartedKey(key: string): {
  task: string;
  scheduledAt: number;
  attempt: number;
} {
  const at = key.lastIndexOf("@");
  const hash = key.lastIndexOf("#");
  return {
    task: key.slice(0, at),
    scheduledAt: Number(key.slice(at + 1, hash)),
    attempt: Number(key.slice(hash + 1)),
  };
}
