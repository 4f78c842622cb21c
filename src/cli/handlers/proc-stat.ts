import { readdirSync, readFileSync } from "node:fs";

/** What the daemon reads of a process in /proc/<pid>/stat. */
export interface ProcStat {
  readonly pid: number;
  /** One letter: R, S, D, Z (zombie), X (dead), T… */
  readonly state: string;
  /** The process group id. */
  readonly pgrp: number;
  /** When the process started, in clock ticks after boot (field 22): unchanged by exec. */
  readonly startTicks: number;
}

/**
 * Parses a /proc/<pid>/stat line: "pid (name) state ppid pgrp … starttime …".
 * The name may hold spaces and parentheses, so the fields are counted from
 * the last ")". Undefined for a line that does not have them.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  // Fields 3 onwards; the start time is field 22.
  const fields = text.slice(close + 2).split(" ");
  const [state, , pgrp] = fields;
  const startTicks = Number(fields[22 - 3]);
  if (state === undefined || state === "" || !Number.isSafeInteger(pid)) return undefined;
  if (!Number.isSafeInteger(Number(pgrp)) || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, state, pgrp: Number(pgrp), startTicks };
}

/** The stat of process `pid`, or undefined when it does not exist (or there is no /proc). */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Every process in /proc, read one by one (those that exit meanwhile are left out); undefined without /proc. */
export function listProcStats(): Iterable<ProcStat> | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  return (function* () {
    for (const entry of entries) {
      const first = entry.charCodeAt(0);
      if (first < 48 || first > 57) continue;
      const stat = readProcStat(Number(entry));
      if (stat !== undefined) yield stat;
    }
  })();
}

/** Whether a process in that state runs (a zombie or a dead one does not). */
export function isLive(stat: ProcStat): boolean {
  return stat.state !== "Z" && stat.state !== "X";
}

let bootIdCache: string | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), or undefined without one. */
export function bootId(): string | undefined {
  if (bootIdCache !== undefined) return bootIdCache;
  try {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    if (id !== "") bootIdCache = id;
  } catch {
    // Not Linux, or no /proc: processes cannot be told apart after a restart.
  }
  return bootIdCache;
}

/**
 * Names the start of process `pid` so that no later process is taken for it:
 * `<boot id>/<start ticks>` (a pid is used again, a start time after a
 * reboot too). Undefined when it cannot be read (not Linux, or it is gone).
 */
export function processStartTime(pid: number): string | undefined {
  const boot = bootId();
  const stat = readProcStat(pid);
  if (boot === undefined || stat === undefined) return undefined;
  return `${boot}/${stat.startTicks}`;
}

/**
 * What runs now under the process group `pgid` whose leader started at
 * `startTime` (from {@link processStartTime}):
 * - `running`: that group still has a live process;
 * - `gone`: nothing of it runs;
 * - `other`: the id names another group now (its pid was used again): never
 *   signal it;
 * - `elsewhere`: it was recorded on another boot (another machine, or before
 *   a reboot), or the record cannot be read: nothing here is known of it.
 *
 * While the leader lives, its start time decides. A leader gone while the
 * group lives on cannot have had its pid used again (Linux keeps a pid while
 * a group bears its number), so the group is that one when every live member
 * started at or after the recorded start, on this boot.
 */
export function recordedGroupState(
  pgid: number,
  startTime: string,
): "running" | "gone" | "other" | "elsewhere" {
  const slash = startTime.lastIndexOf("/");
  const recordedBoot = startTime.slice(0, slash);
  const recordedTicks = Number(startTime.slice(slash + 1));
  if (slash < 0 || recordedBoot !== bootId() || !Number.isSafeInteger(recordedTicks))
    return "elsewhere";
  const leader = readProcStat(pgid);
  if (leader !== undefined && isLive(leader)) {
    if (leader.startTicks !== recordedTicks) return "other";
    if (leader.pgrp === pgid) return "running";
  }
  const all = listProcStats();
  if (all === undefined) return "gone";
  let members = 0;
  for (const stat of all) {
    if (stat.pgrp !== pgid || !isLive(stat)) continue;
    if (stat.startTicks < recordedTicks) return "other";
    members++;
  }
  return members > 0 ? "running" : "gone";
}
