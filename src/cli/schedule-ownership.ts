import { safeLog, type Logger } from "../logger.js";
import { appendAudit, type ScheduleFileRecord, type TaskOrigin } from "../store/daemon-records.js";
import type { Store } from "../store/store.js";

/** Defaults of {@link ScheduleOwnershipOptions}. */
export const SCHEDULE_OWNERSHIP_DEFAULTS = Object.freeze({
  heartbeatMs: 30_000,
  liveWindowMs: 120_000,
});

/** Options of {@link ScheduleOwnership}. */
export interface ScheduleOwnershipOptions {
  /** The store the daemon applies its file to (its `records` hold what this class reads and writes). */
  readonly store: Store;
  readonly logger: Logger;
  /** The daemon as a file applier, stable across restarts: see {@link scheduleSource}. */
  readonly source: string;
  /** The node id the daemon runs as now. */
  readonly nodeId: string;
  /** The schedule file's absolute path. */
  readonly path: string;
  /**
   * How often the daemon's record is refreshed (it counts as running while
   * refreshed) and other daemons' files are checked.
   * @defaultValue 30000
   */
  readonly heartbeatMs?: number;
  /**
   * A daemon whose record was not refreshed for this long counts as stopped.
   * @defaultValue 120000
   */
  readonly liveWindowMs?: number;
}

/**
 * The daemon as a file applier, stable across its restarts (its node id is
 * `hostname:pid` by default, which is not): `--node-id` when given, else
 * `<host>:<absolute path of the schedule file>`.
 */
export function scheduleSource(nodeIdFlag: string | undefined, host: string, path: string): string {
  return nodeIdFlag ?? `${host}:${path}`;
}

/** What one apply may remove: decided before it, from the store's records. */
export interface RemovalRule {
  /** True when `taskName` (not in the file) was added by this daemon's file and may be removed. */
  mayRemove(taskName: string): boolean;
}

/** The outcome of an apply, as {@link ScheduleOwnership.settle} needs it. */
export interface AppliedNames {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: readonly string[];
}

const NOTHING: RemovalRule = { mayRemove: () => false };

function short(sha256: string): string {
  return sha256.slice(0, 12);
}

function listed(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).join(",");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Keeps daemons that apply different schedule files to one store from
 * removing each other's tasks. Each daemon records in the
 * store the file it applied (path, SHA-256, when, last seen) and, per task,
 * which file added it. An apply then removes a task missing from the file
 * only when this daemon's file added it: recorded by the same source (the
 * same daemon, restarted, with an edited file), or by a file with the content
 * this source applied last, and only while no other running daemon applies a
 * different file. A daemon whose file differs from another running daemon's
 * says so loudly (warn), at each apply and when it first notices one. Tasks
 * with no recorded origin (added before this version, or by a program) are
 * never removed. Every add, change and removal goes into the audit log as
 * `daemon:<node id>`.
 */
export class ScheduleOwnership {
  readonly #options: ScheduleOwnershipOptions;
  readonly #heartbeatMs: number;
  readonly #liveWindowMs: number;
  /** This daemon's record as last written; undefined before the first apply. */
  #current: ScheduleFileRecord | undefined;
  /** `source\0sha256` of the other files warned about (the heartbeat warns once each). */
  readonly #warned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #warnedNoRecords = false;

  constructor(options: ScheduleOwnershipOptions) {
    this.#options = options;
    this.#heartbeatMs = options.heartbeatMs ?? SCHEDULE_OWNERSHIP_DEFAULTS.heartbeatMs;
    this.#liveWindowMs = options.liveWindowMs ?? SCHEDULE_OWNERSHIP_DEFAULTS.liveWindowMs;
  }

  /**
   * Before applying the file with content hash `sha256` and these task
   * names: warns about other running daemons with another file, and returns
   * which tasks missing from the file this apply may remove. A store that
   * cannot be read gives a rule that removes nothing.
   */
  async prepare(sha256: string, fileTaskNames: readonly string[]): Promise<RemovalRule> {
    const { store, logger } = this.#options;
    const records = store.records;
    if (records === undefined) {
      if (!this.#warnedNoRecords) {
        safeLog(
          logger,
          "warn",
          { store: store.kind },
          "this store keeps no record of schedule files: tasks missing from the file are never removed",
        );
        this.#warnedNoRecords = true;
      }
      return NOTHING;
    }
    try {
      const [nowMs, files, origins] = await Promise.all([
        store.now(),
        records.scheduleFiles(),
        records.taskOrigins(),
      ]);
      const conflicts = this.#conflicts(files, sha256, nowMs);
      for (const other of conflicts) this.#warnConflict(other, sha256, "apply");
      const previous = files.find((file) => file.source === this.#options.source)?.sha256;
      const inFile = new Set(fileTaskNames);
      const candidates = origins.filter(
        (origin) =>
          !inFile.has(origin.taskName) &&
          (origin.source === this.#options.source ||
            (conflicts.length === 0 && previous !== undefined && origin.sha256 === previous)),
      );
      const tasks = new Map((await store.listTasks()).map((task) => [task.name, task.createdAt]));
      // A task written again since its origin was recorded (by anyone) is no longer this file's.
      const removable = new Set(
        candidates
          .filter((origin) => tasks.get(origin.taskName) === origin.taskCreatedAt)
          .map((origin) => origin.taskName),
      );
      const hasOrigin = new Set(origins.map((origin) => origin.taskName));
      const others: string[] = [];
      const orphans: string[] = [];
      for (const name of tasks.keys()) {
        if (inFile.has(name) || removable.has(name)) continue;
        (hasOrigin.has(name) ? others : orphans).push(name);
      }
      if (others.length > 0) {
        safeLog(
          logger,
          "info",
          { kept: listed(others) },
          `${others.length} tasks not in this file belong to another schedule file (or were written again since this one added them): left as they are`,
        );
      }
      if (orphans.length > 0) {
        safeLog(
          logger,
          "warn",
          { kept: listed(orphans) },
          `${orphans.length} tasks not in this file have no recorded schedule file (added by a program, ` +
            "or before this version recorded origins): left as they are; remove them yourself if they should go",
        );
      }
      return { mayRemove: (name) => removable.has(name) };
    } catch (error) {
      safeLog(
        logger,
        "error",
        { err: error },
        "cannot read which schedule file added each task: no task is removed by this apply",
      );
      return NOTHING;
    }
  }

  /**
   * After an apply: records this file as the origin of the tasks it added or
   * redefined (and of the tasks of the file that had no valid origin),
   * forgets the removed ones, records the file as this daemon's, and writes
   * the audit rows. Failures are logged, never thrown.
   */
  async settle(sha256: string, result: AppliedNames): Promise<void> {
    const { store, logger, source, nodeId, path } = this.#options;
    const records = store.records;
    if (records === undefined) return;
    try {
      const nowMs = await store.now();
      const [tasks, origins] = await Promise.all([store.listTasks(), records.taskOrigins()]);
      const createdAt = new Map(tasks.map((task) => [task.name, task.createdAt]));
      const known = new Map(origins.map((origin) => [origin.taskName, origin]));
      const unowned = result.unchanged.filter(
        (name) => known.get(name)?.taskCreatedAt !== createdAt.get(name),
      );
      const written: TaskOrigin[] = [];
      for (const name of [...result.added, ...result.changed, ...unowned]) {
        const taskCreatedAt = createdAt.get(name);
        if (taskCreatedAt === undefined) continue;
        written.push({
          taskName: name,
          source,
          nodeId,
          path,
          sha256,
          taskCreatedAt,
          recordedAt: nowMs,
        });
      }
      await records.putTaskOrigins(written);
      await records.deleteTaskOrigins(result.removed);
      this.#current = {
        source,
        nodeId,
        path,
        sha256,
        appliedAt: nowMs,
        seenAt: nowMs,
        stoppedAt: null,
      };
      await records.putScheduleFile(this.#current);
      const detail = `file ${path} (sha256 ${short(sha256)})`;
      const audits = (["added", "changed", "removed"] as const).flatMap((key) =>
        result[key].map((taskName) =>
          appendAudit(
            records,
            {
              at: nowMs,
              actor: `daemon:${nodeId}`,
              action: key === "added" ? "add" : key === "changed" ? "change" : "remove",
              taskName,
              result: "ok",
              detail,
            },
            (error) => safeLog(logger, "error", { err: error, task: taskName }, "audit row lost"),
          ),
        ),
      );
      await Promise.all(audits);
    } catch (error) {
      safeLog(
        logger,
        "error",
        { err: error },
        "cannot record the applied schedule file in the store",
      );
    }
  }

  /** Starts refreshing this daemon's record (see {@link ScheduleOwnershipOptions.heartbeatMs}). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#beating = this.#beating.then(() => this.#beat());
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  /** Stops the heartbeat and records a clean stop (other daemons then no longer count this one). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    const records = this.#options.store.records;
    if (this.#current === undefined || records === undefined) return;
    try {
      const nowMs = await this.#options.store.now();
      this.#current = { ...this.#current, seenAt: nowMs, stoppedAt: nowMs };
      await records.putScheduleFile(this.#current);
    } catch (error) {
      safeLog(this.#options.logger, "warn", { err: error }, "cannot record this daemon's stop");
    }
  }

  async #beat(): Promise<void> {
    const { store, logger } = this.#options;
    const records = store.records;
    if (this.#current === undefined || records === undefined) return;
    try {
      const nowMs = await store.now();
      this.#current = { ...this.#current, seenAt: nowMs };
      await records.putScheduleFile(this.#current);
      const files = await records.scheduleFiles();
      for (const other of this.#conflicts(files, this.#current.sha256, nowMs)) {
        if (!this.#warned.has(`${other.source}\u0000${other.sha256}`)) {
          this.#warnConflict(other, this.#current.sha256, "heartbeat");
        }
      }
    } catch (error) {
      safeLog(logger, "warn", { err: error }, "cannot refresh this daemon's schedule file record");
    }
  }

  /** Other daemons that ran recently and applied a file with other content. */
  #conflicts(
    files: readonly ScheduleFileRecord[],
    sha256: string,
    nowMs: number,
  ): ScheduleFileRecord[] {
    return files.filter(
      (file) =>
        file.source !== this.#options.source &&
        file.stoppedAt === null &&
        nowMs - file.seenAt <= this.#liveWindowMs &&
        file.sha256 !== sha256,
    );
  }

  #warnConflict(other: ScheduleFileRecord, sha256: string, when: "apply" | "heartbeat"): void {
    this.#warned.add(`${other.source}\u0000${other.sha256}`);
    safeLog(
      this.#options.logger,
      "warn",
      {
        file: this.#options.path,
        sha256: short(sha256),
        otherNode: other.nodeId,
        otherFile: other.path,
        otherSha256: short(other.sha256),
        otherSource: other.source,
        noticed: when,
      },
      `ANOTHER DAEMON APPLIES A DIFFERENT SCHEDULE FILE TO THIS STORE: node ${other.nodeId} runs ${other.path} ` +
        `(sha256 ${short(other.sha256)}), this node runs ${this.#options.path} (sha256 ${short(sha256)}); ` +
        "each keeps the other's tasks: a task this daemon's file did not add is never removed by it",
    );
  }
}
