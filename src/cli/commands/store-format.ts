import type { ScheduleSpec } from "../../core/schedule.js";
import type { RunRecord } from "../../store/store.js";
import type { StoredTask } from "../../http/task-view.js";

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A schedule as people write it: the cron expression with its zone, `every 90s`, or the instant. */
export function describeStoredSchedule(schedule: ScheduleSpec): string {
  switch (schedule.kind) {
    case "cron":
      return `${schedule.expression} (${schedule.timezone})`;
    case "interval":
      return `every ${formatDuration(schedule.everyMs)}`;
    case "once":
      return `at ${iso(schedule.atMs) ?? ""}`;
  }
}

/** `850ms`, `2.5s`, `5m`, `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("");
}

function relative(ms: number, nowMs: number): string {
  const delta = ms - nowMs;
  const text = formatDuration(Math.abs(delta));
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** The task list of `orchestrator list`: each task's real state (quarantined when its record does not open). */
export function formatTaskTable(tasks: readonly StoredTask[], nowMs: number): string {
  if (tasks.length === 0) return "No tasks in the store.\n";
  return table(
    ["NAME", "SCHEDULE", "NEXT RUN", "LAST STATUS", "STATE"],
    tasks.map(({ record: task, state, quarantineReason }) => [
      task.name,
      describeStoredSchedule(task.schedule),
      // A quarantined task does not run, whatever its record says.
      task.nextRunAt === null || state === "quarantined"
        ? "-"
        : `${iso(task.nextRunAt) ?? ""} (${relative(task.nextRunAt, nowMs)})`,
      task.lastStatus ?? "-",
      quarantineReason === undefined ? state : `${state} (${quarantineReason})`,
    ]),
  );
}

/** What `orchestrator list` adds on standard error: why states are unchecked, what to do about quarantined tasks. */
export function taskListNotes(tasks: readonly StoredTask[]): string {
  if (tasks.some((task) => !task.checked)) {
    return (
      "note: no encryption key found (ORCHESTRATOR_ENCRYPTION_KEY(S), or the key file beside the database): " +
      "the states shown are the stored ones; a task whose record does not open is quarantined by the daemon\n"
    );
  }
  const quarantined = tasks.filter((task) => task.state === "quarantined").length;
  if (quarantined === 0) return "";
  return (
    `note: ${quarantined} task${quarantined === 1 ? " is" : "s are"} quarantined: the record does not open ` +
    "with this encryption key, so the daemon does not run it. Start with the right key, " +
    "or delete it with `orchestrator remove <task>`\n"
  );
}

function outcome(run: RunRecord): string {
  const output = run.output as { exitCode?: unknown; status?: unknown } | undefined;
  const parts: string[] = [];
  if (output !== undefined && output !== null && typeof output === "object") {
    if (typeof output.exitCode === "number") parts.push(`exit ${output.exitCode}`);
    if (typeof output.status === "number") parts.push(`HTTP ${output.status}`);
  }
  if (run.error !== null) parts.push(run.error.message.split("\n")[0] ?? "");
  const text = parts.join(": ");
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** The table of `orchestrator history`, newest first. */
export function formatHistory(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return "No runs recorded.\n";
  return table(
    ["SCHEDULED", "TASK", "STATUS", "ATTEMPT", "DURATION", "NODE", "OUTCOME"],
    runs.map((run) => [
      iso(run.scheduledAt) ?? "",
      run.taskName,
      run.status,
      String(run.attempt),
      run.startedAt !== null && run.finishedAt !== null
        ? formatDuration(run.finishedAt - run.startedAt)
        : "-",
      run.nodeId,
      outcome(run),
    ]),
  );
}
