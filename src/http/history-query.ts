import type { RunStatus } from "../core/task.js";

/** Every status a history row may have, in the order lists show them. */
export const RUN_STATUSES: readonly RunStatus[] = Object.freeze([
  "succeeded",
  "failed",
  "timed-out",
  "cancelled",
  "skipped",
  "missed",
  "interrupted",
  "lost",
]);

/** How much output a history list carries: tails (the default), none, or whole. */
export type HistoryOutput = "tails" | "none" | "full";

/** A history page as asked for by the API's query parameters. */
export interface HistoryPage {
  readonly limit: number;
  readonly offset: number;
  /** Absent: every status. */
  readonly statuses?: readonly RunStatus[];
  readonly output: HistoryOutput;
}

/** The statuses of a comma-separated list (`failed,timed-out`), or the error message. */
export function parseStatuses(text: string, what: string): readonly RunStatus[] | string {
  const statuses = text.split(",").map((part) => part.trim());
  const unknown = statuses.find((status) => !(RUN_STATUSES as readonly string[]).includes(status));
  if (unknown !== undefined) {
    return `${what}: unknown status ${JSON.stringify(unknown)}; expected one or more (comma-separated) of ${RUN_STATUSES.join(", ")}`;
  }
  return statuses as RunStatus[];
}

function wholeNumber(
  raw: string | null,
  name: string,
  min: number,
  max: number,
): number | string | undefined {
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < min || Number(raw) > max)
    return `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`;
  return Number(raw);
}

/**
 * Reads `limit` (1 to `limits.max`), `offset` (runs to pass over: older
 * pages), `status` (comma-separated statuses) and `output` (`tails`, `none`,
 * `full`); returns the error message when one is malformed.
 */
export function parseHistoryQuery(
  params: URLSearchParams,
  limits: { readonly default: number; readonly max: number },
): HistoryPage | string {
  const limit = wholeNumber(params.get("limit"), "limit", 1, limits.max) ?? limits.default;
  if (typeof limit === "string") return limit;
  const offset = wholeNumber(params.get("offset"), "offset", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  if (typeof offset === "string") return offset;
  const output = params.get("output") ?? "tails";
  if (output !== "tails" && output !== "none" && output !== "full")
    return `output must be tails, none or full, got ${JSON.stringify(output)}`;
  const statusText = params.get("status");
  if (statusText === null || statusText === "") return { limit, offset, output };
  const statuses = parseStatuses(statusText, "status");
  if (typeof statuses === "string") return statuses;
  return { limit, offset, statuses, output };
}
