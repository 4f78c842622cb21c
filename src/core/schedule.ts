import { parseCron, type CronExpression, type CronOptions } from "../cron/index.js";
import { InvalidArgumentError, describeValue } from "../errors.js";
import { parseDuration, type Duration } from "../time/duration.js";
import { TASK_LIMITS } from "./task-limits.js";

/** When a task runs: a cron expression, a `Date` (once), or a fixed interval. */
export type ScheduleInput = string | Date | { every: Duration };

/** The kind of a schedule. */
export type ScheduleKind = "cron" | "once" | "interval";

/** The serializable form of a schedule, as stores keep it. Times in epoch ms. */
export type ScheduleSpec =
  | {
      readonly kind: "cron";
      readonly expression: string;
      readonly timezone: string;
      readonly dayMatch?: CronOptions["dayMatch"];
      readonly dst?: CronOptions["dst"];
    }
  | { readonly kind: "once"; readonly atMs: number }
  | { readonly kind: "interval"; readonly everyMs: number; readonly anchorMs: number };

/** A compiled schedule: the occurrences of a task, in epoch ms. */
export interface Schedule {
  readonly kind: ScheduleKind;
  /** The text shown to users: the cron expression, the ISO instant, or `every 90000ms`. */
  readonly source: string;
  /** The IANA zone of a cron schedule, null for the others. */
  readonly timezone: string | null;
  /** The first occurrence strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null;
  /** The last occurrence strictly before `beforeMs`, or null when there is none. */
  prev(beforeMs: number): number | null;
  /**
   * How many occurrences t satisfy afterMs < t <= throughMs (0 when throughMs <= afterMs):
   * what walking `next` from `afterMs` would count, without walking. Both finite.
   */
  countBetween(afterMs: number, throughMs: number): number;
  /** The first `limit` occurrences t with afterMs < t <= throughMs, oldest first. */
  listBetween(afterMs: number, throughMs: number, limit: number): number[];
  /** A sentence describing the schedule. */
  describe(): string;
  /** The serializable form. */
  toSpec(): ScheduleSpec;
}

/**
 * A cron schedule. Shared by every task with the same expression, zone and
 * options (see {@link CronCache}); remembers its last `next` answer, because
 * many tasks registered in the same millisecond ask the same question.
 */
export class CronSchedule implements Schedule {
  readonly kind = "cron";
  readonly cron: CronExpression;
  readonly #spec: ScheduleSpec;
  #memoFrom = Number.NaN;
  #memoNext: number | null = null;

  constructor(cron: CronExpression, spec: ScheduleSpec) {
    this.cron = cron;
    this.#spec = spec;
  }
  get source(): string {
    return this.cron.source;
  }
  get timezone(): string {
    return this.cron.timezone;
  }
  next(afterMs: number): number | null {
    if (afterMs === this.#memoFrom) return this.#memoNext;
    // Epoch ms in and out: no Date per call on the scheduler's hot path.
    const next = this.cron.nextMs(afterMs);
    this.#memoFrom = afterMs;
    this.#memoNext = Number.isNaN(next) ? null : next;
    return this.#memoNext;
  }
  prev(beforeMs: number): number | null {
    const prev = this.cron.prevMs(beforeMs);
    return Number.isNaN(prev) ? null : prev;
  }
  countBetween(afterMs: number, throughMs: number): number {
    return this.cron.countBetweenMs(afterMs, throughMs);
  }
  listBetween(afterMs: number, throughMs: number, limit: number): number[] {
    return this.cron.listBetweenMs(afterMs, throughMs, limit);
  }
  describe(): string {
    return this.cron.describe();
  }
  toSpec(): ScheduleSpec {
    return this.#spec;
  }
}

/** A one-time schedule. */
export class OnceSchedule implements Schedule {
  readonly kind = "once";
  readonly timezone = null;
  readonly atMs: number;
  constructor(atMs: number) {
    this.atMs = atMs;
  }
  get source(): string {
    return new Date(this.atMs).toISOString();
  }
  next(afterMs: number): number | null {
    return this.atMs > afterMs ? this.atMs : null;
  }
  prev(beforeMs: number): number | null {
    return this.atMs < beforeMs ? this.atMs : null;
  }
  countBetween(afterMs: number, throughMs: number): number {
    return afterMs < this.atMs && this.atMs <= throughMs ? 1 : 0;
  }
  listBetween(afterMs: number, throughMs: number, limit: number): number[] {
    return limit > 0 && this.countBetween(afterMs, throughMs) === 1 ? [this.atMs] : [];
  }
  describe(): string {
    return `once at ${this.source}`;
  }
  toSpec(): ScheduleSpec {
    return { kind: "once", atMs: this.atMs };
  }
}

/** A fixed-interval schedule: `anchorMs + k * everyMs` for every integer k (no drift). */
export class IntervalSchedule implements Schedule {
  readonly kind = "interval";
  readonly timezone = null;
  readonly everyMs: number;
  readonly anchorMs: number;
  constructor(everyMs: number, anchorMs: number) {
    this.everyMs = everyMs;
    this.anchorMs = anchorMs;
  }
  get source(): string {
    return `every ${this.everyMs}ms`;
  }
  next(afterMs: number): number | null {
    return this.anchorMs + (this.#stepsTo(afterMs) + 1) * this.everyMs;
  }
  prev(beforeMs: number): number | null {
    const k = Math.ceil((beforeMs - this.anchorMs) / this.everyMs) - 1;
    return this.anchorMs + k * this.everyMs;
  }
  countBetween(afterMs: number, throughMs: number): number {
    // The k with anchor + k * every in (after, through]: from first(after) to floor(through).
    const count = this.#stepsTo(throughMs) - this.#stepsTo(afterMs);
    return count > 0 ? count : 0;
  }
  listBetween(afterMs: number, throughMs: number, limit: number): number[] {
    const list: number[] = [];
    const last = this.#stepsTo(throughMs);
    for (let k = this.#stepsTo(afterMs) + 1; k <= last && list.length < limit; k++) {
      list.push(this.anchorMs + k * this.everyMs);
    }
    return list;
  }
  /** The largest k with anchor + k * every <= ms. */
  #stepsTo(ms: number): number {
    return Math.floor((ms - this.anchorMs) / this.everyMs);
  }
  describe(): string {
    return `every ${this.everyMs} ms`;
  }
  toSpec(): ScheduleSpec {
    return { kind: "interval", everyMs: this.everyMs, anchorMs: this.anchorMs };
  }
}

/**
 * Compiled cron schedules keyed by expression, zone and options. One per
 * Scheduler (never module-level), so a million tasks with the same expression
 * share one compiled form.
 */
export class CronCache {
  /** zone → options key → expression → schedule; two lookups without building a key string. */
  readonly #zones = new Map<string, Map<string, Map<string, CronSchedule>>>();
  #size = 0;

  /** Number of distinct compiled schedules. */
  get size(): number {
    return this.#size;
  }

  /** Returns the shared schedule, parsing it on first use (throws CronSyntaxError, InvalidArgumentError). */
  get(
    expression: string,
    options: Required<Pick<CronOptions, "timezone">> & CronOptions,
  ): CronSchedule {
    const { timezone, dayMatch, dst } = options;
    const variant =
      dayMatch === undefined && dst === undefined
        ? ""
        : `${dayMatch ?? ""}\u0000${dst?.gap ?? ""}\u0000${dst?.overlap ?? ""}`;
    let variants = this.#zones.get(timezone);
    if (variants === undefined) {
      variants = new Map<string, Map<string, CronSchedule>>();
      this.#zones.set(timezone, variants);
    }
    let entries = variants.get(variant);
    if (entries === undefined) {
      entries = new Map<string, CronSchedule>();
      variants.set(variant, entries);
    }
    let entry = entries.get(expression);
    if (entry === undefined) {
      const cron = parseCron(expression, options);
      const spec: ScheduleSpec = {
        kind: "cron",
        expression,
        timezone,
        ...(dayMatch === undefined ? {} : { dayMatch }),
        ...(dst === undefined ? {} : { dst }),
      };
      entry = new CronSchedule(cron, spec);
      entries.set(expression, entry);
      this.#size++;
    }
    return entry;
  }
}

/** Context of {@link compileSchedule}. */
export interface CompileContext {
  nowMs: number;
  timezone: string;
  cache: CronCache;
  /** The task's `startAt` (anchors an interval), if any. */
  startAtMs?: number | undefined;
  dayMatch?: CronOptions["dayMatch"];
  dst?: CronOptions["dst"];
}

const EXPECTED = 'a cron expression string, a Date, or { every: number | "90s" | "5m" | "1h" }';

/**
 * Compiles what the user passed as a schedule. Throws CronSyntaxError for bad
 * cron text and InvalidArgumentError (argument `schedule`) for anything else.
 * Whether it ever fires is checked by the caller, which knows `startAt`/`endAt`.
 */
export function compileSchedule(input: unknown, context: CompileContext): Schedule {
  if (typeof input === "string") {
    if (input.trim() === "") throw new InvalidArgumentError("schedule", EXPECTED, input);
    if (context.dayMatch === undefined && context.dst === undefined) {
      return context.cache.get(input, { timezone: context.timezone });
    }
    return context.cache.get(input, {
      timezone: context.timezone,
      ...(context.dayMatch === undefined ? {} : { dayMatch: context.dayMatch }),
      ...(context.dst === undefined ? {} : { dst: context.dst }),
    });
  }
  if (input instanceof Date) {
    const atMs = input.getTime();
    if (Number.isNaN(atMs)) throw new InvalidArgumentError("schedule", "a valid Date", input);
    return new OnceSchedule(atMs);
  }
  if (input !== null && typeof input === "object" && "every" in input) {
    const everyMs = parseDuration("schedule.every", input.every, {
      minMs: TASK_LIMITS.minEveryMs,
      maxMs: TASK_LIMITS.maxEveryMs,
    });
    return new IntervalSchedule(everyMs, context.startAtMs ?? context.nowMs);
  }
  throw new InvalidArgumentError("schedule", EXPECTED, input);
}

/** Rebuilds a schedule from its stored form. */
export function scheduleFromSpec(spec: ScheduleSpec, cache: CronCache): Schedule {
  switch (spec.kind) {
    case "cron":
      return cache.get(spec.expression, spec);
    case "once":
      return new OnceSchedule(spec.atMs);
    case "interval":
      return new IntervalSchedule(spec.everyMs, spec.anchorMs);
  }
}

/** For messages: a short description of a schedule input. */
export function describeScheduleInput(input: unknown): string {
  return typeof input === "string" ? JSON.stringify(input) : describeValue(input);
}
