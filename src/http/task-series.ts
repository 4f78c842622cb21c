/** The `task` label of runs of tasks past the limit of per-task series. */
export const OTHER_TASKS = "_other";

/** The default of `maxTaskSeries` (SchedulerMetricsOptions). */
export const DEFAULT_MAX_TASK_SERIES = 1_000;

/**
 * Which task names get series of their own in the per-task metrics: the first
 * `max` names seen, in the order they are first seen; later ones share the
 * label {@link OTHER_TASKS} (as OpenTelemetry's cardinality limit folds
 * attribute sets into an overflow set). Unbounded, 100,000 tasks made 200,000
 * histogram series: each first observation cost a series' buckets, a burst of
 * them took seconds, and the scrape was millions of lines.
 */
export class TaskSeries {
  readonly #max: number;
  readonly #admitted = new Set<string>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The `task` label for `taskName`: the name itself while there is room, else {@link OTHER_TASKS}. */
  label(taskName: string): string {
    if (this.#admitted.has(taskName)) return taskName;
    if (this.#admitted.size >= this.#max) return OTHER_TASKS;
    this.#admitted.add(taskName);
    return taskName;
  }
}
