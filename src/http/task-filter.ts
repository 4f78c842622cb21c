import type { RunStatus, TaskInfo, TaskState } from "../core/task.js";
import { RUN_STATUSES } from "./history-query.js";

/** The task states a list can be filtered by. */
export const TASK_STATES: readonly TaskState[] = Object.freeze([
  "active",
  "paused",
  "quarantined",
  "completed",
]);

/** The last statuses a list can be filtered by (`none`: never ran). */
export const LAST_STATUSES: readonly (RunStatus | "none")[] = Object.freeze([
  ...RUN_STATUSES,
  "none",
]);

/** Longest search text, in characters. */
export const MAX_SEARCH_LENGTH = 200;

/** What `GET /api/tasks` keeps: a name search and sets of states and last statuses (empty: any). */
export interface TaskFilter {
  /** Lower-cased text the name must contain ("" for any). */
  readonly search: string;
  readonly states: ReadonlySet<string>;
  readonly statuses: ReadonlySet<string>;
}

/**
 * Reads `q`, `state` and `status` (comma-separated lists) from the query;
 * returns the filter, or the problem in words (which parameter, what is
 * allowed) for a 400.
 */
export function parseTaskFilter(params: URLSearchParams): TaskFilter | string {
  const search = (params.get("q") ?? "").trim();
  if (search.length > MAX_SEARCH_LENGTH) {
    return `q must be at most ${MAX_SEARCH_LENGTH} characters, got ${search.length}`;
  }
  const states = listParam(params, "state", TASK_STATES);
  if (typeof states === "string") return states;
  const statuses = listParam(params, "status", LAST_STATUSES);
  if (typeof statuses === "string") return statuses;
  return { search: search.toLowerCase(), states, statuses };
}

function listParam(
  params: URLSearchParams,
  name: string,
  allowed: readonly string[],
): ReadonlySet<string> | string {
  const raw = params.get(name);
  if (raw === null || raw.trim() === "") return new Set();
  const values = raw.split(",").map((value) => value.trim());
  const wrong = values.find((value) => !allowed.includes(value));
  if (wrong !== undefined) {
    return `${name} must be a comma-separated list of ${allowed.join(", ")}; got ${JSON.stringify(wrong.slice(0, 50))}`;
  }
  return new Set(values);
}

/** True when no part of the filter is set. */
export function isEmptyFilter(filter: TaskFilter): boolean {
  return filter.search === "" && filter.states.size === 0 && filter.statuses.size === 0;
}

/** Whether `task` passes `filter`. */
export function matchesFilter(task: TaskInfo, filter: TaskFilter): boolean {
  if (filter.states.size > 0 && !filter.states.has(task.state)) return false;
  if (filter.statuses.size > 0 && !filter.statuses.has(task.lastStatus ?? "none")) return false;
  return filter.search === "" || task.name.toLowerCase().includes(filter.search);
}
