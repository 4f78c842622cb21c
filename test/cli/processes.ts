import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** How long a process may take to die, or a file to appear, before a test gives up (a loaded machine is slow). */
const WAIT_MS = 30_000;

/**
 * Whether a process has exited: no /proc entry, or a zombie (where PID 1 does
 * not reap orphans, a killed one stays a zombie, and `kill(pid, 0)` still finds it).
 */
export function isGone(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    // The state follows the parenthesised command name: "123 (sleep) Z ...".
    const state = readFileSync(stat, "utf8").replace(/^.*\) /s, "")[0];
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** Resolves whether `pid` is gone, polling for a bounded time (a SIGKILLed process dies when the kernel gets to it). */
export async function goneSoon(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  for (let waited = 0; waited < WAIT_MS; waited += 20) {
    if (isGone(pid)) return true;
    await sleep(20);
  }
  return isGone(pid);
}

/** The whole numbers in a file (pids written by a test's command), once it has `count` of them; rejects after a bounded wait. */
export async function pidsIn(file: string, count = 1): Promise<number[]> {
  for (let waited = 0; waited < WAIT_MS; waited += 20) {
    const pids = existsSync(file)
      ? (readFileSync(file, "utf8").match(/\d+/g) ?? []).map(Number)
      : [];
    if (pids.length >= count) return pids;
    await sleep(20);
  }
  throw new Error(`${file} did not get ${count} pid(s) in time`);
}

/** SIGKILLs processes a test left running on purpose (clean-up). */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}
