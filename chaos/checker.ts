/**
 * The checker: reads a scenario's run history (the scheduler's story) and the
 * handlers' side-effect log (what really happened), and counts how often the
 * promise was broken. The promise (docs: "Guarantees under faults"): every
 * (task, scheduled instant) in a task's active window ends with exactly one
 * outcome in history — succeeded, failed, skipped (with its reason), missed,
 * or interrupted followed by its retries or by "not retried: policy"; never a
 * slot with no row, never two rows telling different stories, at most one
 * `succeeded`; nothing starts before its instant by the database clock.
 *
 * Invariants (each must be 0): `twice` slots executed to completion twice
 * (two accepted last side effects) other than a redo (below), `dblOk` slots with more than one
 * `succeeded`, `noRow` slots without a row, `story` slots whose rows tell
 * different stories, `dup` slots whose one story is told by several rows,
 * `unretried` runs that ended interrupted (or failed) with
 * retries left and no retry, `early` callbacks started before their instant
 * by the database clock, plus scenario-specific ones (`extra`). Informational:
 * `lost` rows (a late result of a node that lost its lease: not an outcome),
 * `redone` slots whose work a retry did again after the scheduler lost the
 * earlier result (at least once: no scheduler can know whether a process
 * killed or frozen between its last side effect and its finish completed),
 * writes the sink refused (the fence at work), lateness.
 */
import type { RunRecord } from "../src/store/store.js";
import type { SinkCall } from "./sink.js";

/** A task as the checker needs it. */
export interface CheckedTask {
  readonly name: string;
  /** Retries after the first attempt. */
  readonly retries: number;
}

/** What {@link check} reads. */
export interface CheckInput {
  readonly tasks: readonly CheckedTask[];
  /** The slots of every task in the checked window (epoch ms). */
  readonly slots: readonly number[];
  readonly history: readonly RunRecord[];
  /** The side-effect log; absent when handlers write none (the daemon's command tasks). */
  readonly calls?: Iterable<SinkCall>;
  /** Writes the sink refused. */
  readonly refused?: number;
  /** Database clock minus the host clock, in ms (the sink's times are host-clock times). */
  readonly dbOffsetMs: number;
  /** How well that offset is known, in ms: a start counts as early only when it is early by more. */
  readonly dbUncertaintyMs?: number;
}

/** Lateness of first attempts: start (database clock) minus scheduled instant, in ms. */
export interface Lateness {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** What {@link check} found. */
export interface CheckResult {
  readonly slots: number;
  readonly executions: number | undefined;
  readonly twice: number | undefined;
  /**
   * Slots completed twice one after the other where history records no
   * earlier completion as a success (it is `interrupted` or `lost`): work
   * completed just before a kill or a stall (before its finish was written),
   * done again by the retry. Informational, not in `twice`.
   */
  readonly redone: number | undefined;
  readonly doubleSuccess: number;
  readonly noRow: number;
  readonly stories: number;
  /** Slots with several rows telling the same story (`skipped` twice): not exactly one outcome. */
  readonly duplicates: number;
  readonly notRetried: number;
  readonly early: number | undefined;
  readonly lost: number;
  readonly refused: number | undefined;
  readonly lateness: Lateness | undefined;
  /** Scenario-specific invariants (name → count), added by the scenario. */
  readonly extra: Record<string, number>;
  /** A few instances of each violation, for the report. */
  readonly examples: Record<string, string[]>;
}

const ATTEMPT_STATUSES = new Set(["succeeded", "failed", "timed-out", "interrupted"]);
const RETRIED_STATUSES = new Set(["failed", "timed-out", "interrupted"]);
const EXAMPLES_KEPT = 3;

/**
 * The slots a `missed` row stands for: from `scheduledAt` through
 * `missedThrough` (consecutive missed occurrences summarised as one row, with
 * `missedCount`), or its own slot alone.
 */
export function missedRange(row: RunRecord): { first: number; last: number } | null {
  if (row.status !== "missed") return null;
  return {
    first: row.scheduledAt,
    last: Math.max(row.missedThrough ?? row.scheduledAt, row.scheduledAt),
  };
}

/**
 * True when a run's last row says it was deliberately not retried ("not
 * retried: policy"), so that attempts left are not a violation. Adapt to the
 * marker the scheduler settles on.
 */
export function endedByPolicy(row: RunRecord): boolean {
  const output = (row.output ?? {}) as Record<string, unknown>;
  const fields = row as unknown as Record<string, unknown>;
  if (output.notRetried !== undefined || fields.notRetried !== undefined) return true;
  return /not retried/i.test(row.error?.message ?? "");
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** `12:00:05.000` of an epoch ms (UTC). */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function describeRows(rows: readonly RunRecord[]): string {
  return rows
    .map((r) => `${r.status}#${r.attempt}(${r.nodeId})`)
    .sort()
    .join(" ");
}

/** How one slot's rows read: one of the violations, or `ok`. */
type SlotVerdict = "ok" | "noRow" | "stories" | "duplicates" | "doubleSuccess" | "notRetried";

/** Judges the rows of one slot (`lost` rows already removed); `covered` counts summarised missed rows covering it. */
export function judgeSlot(
  rows: readonly RunRecord[],
  covered: number,
  retries: number,
): SlotVerdict {
  const attempts = rows.filter((r) => ATTEMPT_STATUSES.has(r.status));
  const others = rows.length - attempts.length;
  const outcomes = others + covered;
  if (outcomes + attempts.length === 0) return "noRow";
  if (attempts.filter((r) => r.status === "succeeded").length > 1) return "doubleSuccess";
  // A skipped or missed slot has one row and no attempt; an unknown status is another story too.
  if (outcomes > 1 && attempts.length === 0 && new Set(rows.map((r) => r.status)).size <= 1) {
    // The same story told more than once (three nodes each recording `skipped`).
    return "duplicates";
  }
  if (outcomes > 1 || (outcomes === 1 && attempts.length > 0)) return "stories";
  if (outcomes === 1) {
    const only = rows[0];
    return only === undefined || only.status === "skipped" || only.status === "missed"
      ? "ok"
      : "stories";
  }
  const sorted = [...attempts].sort((a, b) => a.attempt - b.attempt);
  for (let i = 0; i < sorted.length; i++) {
    const row = sorted[i] as RunRecord;
    // Attempts 1..n, each once; every attempt but the last ended in a way that is retried.
    if (row.attempt !== i + 1) return "stories";
    if (i < sorted.length - 1 && !RETRIED_STATUSES.has(row.status)) return "stories";
  }
  const last = sorted[sorted.length - 1] as RunRecord;
  if (RETRIED_STATUSES.has(last.status) && last.attempt <= retries && !endedByPolicy(last)) {
    return "notRetried";
  }
  return "ok";
}

/** Checks one scenario. */
export function check(input: CheckInput): CheckResult {
  const slotSet = new Set(input.slots);
  const examples: Record<string, string[]> = {};
  const example = (kind: string, text: string): void => {
    const list = (examples[kind] ??= []);
    if (list.length < EXAMPLES_KEPT) list.push(text);
  };

  // History by task and slot; lost rows are informational; summarised missed rows cover ranges.
  const byKey = new Map<string, RunRecord[]>();
  const coverage = new Map<string, { first: number; last: number }[]>();
  /** The rows of each attempt (`task@slot#attempt@node`), lost rows included. */
  const attemptRows = new Map<string, RunRecord[]>();
  let lost = 0;
  for (const row of input.history) {
    const attemptKey = `${row.taskName}@${row.scheduledAt}#${row.attempt}@${row.nodeId}`;
    attemptRows.set(attemptKey, [...(attemptRows.get(attemptKey) ?? []), row]);
    if (row.status === "lost") {
      if (slotSet.has(row.scheduledAt)) lost++;
      continue;
    }
    const range = missedRange(row);
    if (range !== null && range.first !== range.last) {
      // A summarised row: an outcome for every slot of the task in its range.
      const list = coverage.get(row.taskName) ?? [];
      list.push(range);
      coverage.set(row.taskName, list);
      continue;
    }
    const key = `${row.taskName}@${row.scheduledAt}`;
    const list = byKey.get(key) ?? [];
    list.push(row);
    byKey.set(key, list);
  }

  const counts = { noRow: 0, stories: 0, duplicates: 0, doubleSuccess: 0, notRetried: 0 };
  for (const task of input.tasks) {
    const ranges = coverage.get(task.name) ?? [];
    for (const slot of input.slots) {
      const rows = byKey.get(`${task.name}@${slot}`) ?? [];
      const covered = ranges.filter((r) => r.first <= slot && slot <= r.last).length;
      const verdict = judgeSlot(rows, covered, task.retries);
      if (verdict === "ok") continue;
      counts[verdict]++;
      example(
        verdict,
        `${task.name} @ ${clockTime(slot)}: ${describeRows(rows) || "no row"}${covered > 0 ? ` +${covered} summarised missed` : ""}`,
      );
    }
  }

  let executions: number | undefined;
  let twice: number | undefined;
  let redone: number | undefined;
  let early: number | undefined;
  let lateness: Lateness | undefined;
  if (input.calls !== undefined) {
    executions = 0;
    early = 0;
    const completions = new Map<string, SinkCall[]>();
    const late: number[] = [];
    for (const call of input.calls) {
      if (!slotSet.has(call.slot)) continue;
      executions++;
      const startMs = call.at + input.dbOffsetMs;
      if (startMs + (input.dbUncertaintyMs ?? 0) < call.slot) {
        early++;
        example(
          "early",
          `${call.task} @ ${clockTime(call.slot)} attempt ${call.attempt} on ${call.tag} started ${Math.round(call.slot - startMs)} ms early`,
        );
      }
      if (call.attempt === 1) late.push(startMs - call.slot);
      if (call.done === "accepted") {
        const key = `${call.task}@${call.slot}`;
        const list = completions.get(key) ?? [];
        list.push(call);
        completions.set(key, list);
      }
    }
    twice = 0;
    redone = 0;
    for (const [key, list] of completions) {
      if (list.length < 2) continue;
      const overlapping = overlap(list);
      const earlier = [...list].sort((a, b) => a.at - b.at).slice(0, -1);
      if (!overlapping && earlier.every((c) => resultUnknown(c, list, attemptRows))) {
        redone++;
        continue;
      }
      twice++;
      example(
        "twice",
        `${key.replace(/@(\d+)$/, (_, ms: string) => ` @ ${clockTime(Number(ms))}`)}: completed by ${list
          .map(
            (c) =>
              `${c.tag} attempt ${c.attempt} (${clockTime(c.at)}–${c.endedAt === undefined ? "?" : clockTime(c.endedAt)})`,
          )
          .join(", ")}${overlapping ? ", running at once" : ", one after the other"}`,
      );
    }
    late.sort((a, b) => a - b);
    lateness =
      late.length === 0
        ? undefined
        : {
            n: late.length,
            p50: percentile(late, 50),
            p99: percentile(late, 99),
            max: late[late.length - 1] as number,
          };
  }

  return {
    slots: input.slots.length * input.tasks.length,
    executions,
    twice,
    redone,
    doubleSuccess: counts.doubleSuccess,
    noRow: counts.noRow,
    stories: counts.stories,
    duplicates: counts.duplicates,
    notRetried: counts.notRetried,
    early,
    lost,
    refused: input.refused,
    lateness,
    extra: {},
    examples,
  };
}

/**
 * True when history leaves the result of `call` unknown: its attempt is
 * recorded `interrupted` or `lost` (killed, frozen or lost before its finish),
 * and no `succeeded` row of its node and attempt is its own (the one nearest
 * its start among the slot's completions: attempt numbers repeat after a
 * `lost` row, which is no attempt). The retry that did the work again is a redo.
 */
function resultUnknown(
  call: SinkCall,
  completions: readonly SinkCall[],
  attemptRows: ReadonlyMap<string, RunRecord[]>,
): boolean {
  const rows = attemptRows.get(`${call.task}@${call.slot}#${call.attempt}@${call.nodeId}`) ?? [];
  if (!rows.some((row) => row.status === "interrupted" || row.status === "lost")) return false;
  return !rows.some((row) => {
    if (row.status !== "succeeded") return false;
    const start = row.startedAt ?? Number.NaN;
    const nearest = completions
      .filter((c) => c.attempt === call.attempt && c.nodeId === call.nodeId)
      .reduce((best, c) => (Math.abs(c.at - start) < Math.abs(best.at - start) ? c : best));
    return nearest === call;
  });
}

/** True when two of the calls ran at the same time (one began before the other ended). */
function overlap(calls: readonly SinkCall[]): boolean {
  for (const a of calls) {
    for (const b of calls) {
      if (a !== b && a.at <= b.at && b.at < (a.endedAt ?? Number.POSITIVE_INFINITY)) return true;
    }
  }
  return false;
}

/** History lateness of first attempts (for handlers that write no side effects): startedAt − scheduledAt. */
export function historyLateness(
  history: readonly RunRecord[],
  slots: readonly number[],
): Lateness | undefined {
  const slotSet = new Set(slots);
  const late = history
    .filter((r) => r.attempt === 1 && r.startedAt !== null && slotSet.has(r.scheduledAt))
    .filter((r) => ATTEMPT_STATUSES.has(r.status) && r.status !== "interrupted")
    .map((r) => (r.startedAt as number) - r.scheduledAt)
    .sort((a, b) => a - b);
  if (late.length === 0) return undefined;
  return {
    n: late.length,
    p50: percentile(late, 50),
    p99: percentile(late, 99),
    max: late[late.length - 1] as number,
  };
}

/** The number of broken promises in a result (0: the scenario passed). */
export function violations(result: CheckResult): number {
  return (
    (result.twice ?? 0) +
    result.doubleSuccess +
    result.noRow +
    result.stories +
    result.duplicates +
    result.notRetried +
    (result.early ?? 0) +
    Object.values(result.extra).reduce((sum, n) => sum + n, 0)
  );
}
