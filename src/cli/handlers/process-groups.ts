import { setTimeout as delay } from "node:timers/promises";
import { isLive, listProcStats } from "./proc-stat.js";

/** How often a group being stopped is looked at, in ms. */
const POLL_MS = 25;

/**
 * Sends `signal` (0: none, only check) to every process of the group `pgid`.
 * Returns false when the group has no process left (ESRCH).
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    // A negative pid addresses the whole process group.
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: a member we may not signal (it changed its user); it is still there.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a process that is not a zombie has the process group id `pgid`, from /proc. */
function hasLiveMember(pgid: number): boolean {
  const all = listProcStats();
  if (all === undefined) return true;
  for (const stat of all) if (stat.pgrp === pgid && isLive(stat)) return true;
  return false;
}

/**
 * Whether the process group `pgid` still has a running process. A zombie
 * does not count: where PID 1 does not reap orphans (a container without an
 * init), a killed process stays one, and signalling it finds it "alive".
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  return process.platform === "linux" ? hasLiveMember(pgid) : true;
}

/** Waits until none of `pgids` has a running process, or `ms` passed; resolves with those still running. */
async function waitGone(pgids: readonly number[], ms: number): Promise<number[]> {
  let alive = pgids.filter(groupAlive);
  for (let waited = 0; alive.length > 0 && waited < ms; waited += POLL_MS) {
    await delay(POLL_MS);
    alive = alive.filter(groupAlive);
  }
  return alive;
}

/**
 * Stops process groups: SIGTERM to each, then SIGKILL to those still running
 * after `graceMs`. Resolves once they are gone or SIGKILLed.
 */
export async function stopGroups(pgids: readonly number[], graceMs: number): Promise<void> {
  for (const pgid of pgids) signalGroup(pgid, "SIGTERM");
  const left = await waitGone(pgids, graceMs);
  for (const pgid of left) signalGroup(pgid, "SIGKILL");
}

/**
 * The process groups of the commands running in this process, so that they
 * can be stopped when it exits: a command runs detached, in a group of its
 * own, and would otherwise outlive the process that started it (re-parented
 * to init). {@link runCommand} adds each group when it starts the command and
 * removes it once nothing of it runs any more (or its leftovers are kept).
 */
export class ProcessGroups {
  readonly #live = new Set<number>();
  #halted = false;

  /** The groups registered now. */
  get ids(): number[] {
    return [...this.#live];
  }

  /** True after {@link halt}: the process is exiting, no command may start. */
  get halted(): boolean {
    return this.#halted;
  }

  add(pgid: number): void {
    this.#live.add(pgid);
  }

  delete(pgid: number): void {
    this.#live.delete(pgid);
  }

  /** The process is about to exit: from now on commands are not started (see {@link halted}). */
  halt(): void {
    this.#halted = true;
  }

  /** SIGTERM to every group, SIGKILL after `graceMs` to those still running. */
  stopAll(graceMs: number): Promise<void> {
    return stopGroups(this.ids, graceMs);
  }

  /** SIGKILL to every group, at once (synchronous: usable in a process `exit` listener). */
  killAll(): void {
    for (const pgid of this.#live) signalGroup(pgid, "SIGKILL");
  }

  /**
   * Kills every group when `target` (the process) emits `exit`, whatever
   * made it exit: the last resort. Returns the function that removes the listener.
   */
  killOnExit(target: Pick<NodeJS.Process, "on" | "off"> = process): () => void {
    const onExit = (): void => this.killAll();
    target.on("exit", onExit);
    return () => {
      target.off("exit", onExit);
    };
  }
}
