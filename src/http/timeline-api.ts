import type { ServerResponse } from "node:http";
import { planView } from "../core/plan-view.js";
import type { Scheduler } from "../scheduler/index.js";
import { INSTANT_TEXT_FORMS, parseInstantText } from "../time/instant-text.js";
import { isValidTimeZone, resolveZone, type Zone } from "../time/zone.js";
import { methodNotAllowed, sendError, sendJson } from "./responses.js";
import { runView, type RunView } from "./run-view.js";

const HOUR_MS = 3_600_000;

/** Bounds of `GET /api/plan`: the window (default 24 h, at most 7 days) and the runs listed. */
export const PLAN_LIMITS = Object.freeze({
  defaultWindowMs: 24 * HOUR_MS,
  maxWindowMs: 7 * 24 * HOUR_MS,
  defaultRuns: 5000,
  maxRuns: 20_000,
  defaultPerTask: 1000,
});

/** Bounds of `GET /api/timeline/recent`: how far back by default and at most, and the runs returned. */
export const RECENT_LIMITS = Object.freeze({
  defaultSinceMs: 24 * HOUR_MS,
  maxSinceMs: 31 * 24 * HOUR_MS,
  defaultRuns: 2000,
  maxRuns: 5000,
});

/** A recent run as a bar: when it started, how long it took, how it ended (a {@link RunView}'s keys). */
export type RecentRunView = Pick<
  RunView,
  "taskName" | "scheduledAt" | "startedAt" | "finishedAt" | "durationMs" | "status" | "attempt"
>;

class BadParameter extends Error {}

function instantParam(url: URL, name: string, zone: Zone): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return undefined;
  const ms = parseInstantText(raw, zone);
  if (Number.isNaN(ms)) {
    throw new BadParameter(`${name} must be ${INSTANT_TEXT_FORMS}; got ${JSON.stringify(raw)}`);
  }
  return ms;
}

function countParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 1 && value <= max)) {
    throw new BadParameter(
      `${name} must be a whole number from 1 to ${max}; got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function zoneParam(url: URL, scheduler: Scheduler): Zone {
  const raw = url.searchParams.get("tz");
  if (raw === null || raw === "") return resolveZone(scheduler.timezone);
  if (!isValidTimeZone(raw)) {
    throw new BadParameter(
      `tz must be an IANA time zone name such as "Europe/Berlin" or "UTC"; got ${JSON.stringify(raw)}`,
    );
  }
  return resolveZone(raw);
}

/** `GET /api/plan[?from=&to=|hours=&tz=&limit=&perTask=]` → {@link PlanView}. */
function plan(scheduler: Scheduler, url: URL, response: ServerResponse): void {
  const zone = zoneParam(url, scheduler);
  const fromMs = instantParam(url, "from", zone) ?? scheduler.clock.nowMs();
  const to = instantParam(url, "to", zone);
  const hours = url.searchParams.has("hours")
    ? countParam(url, "hours", 24, PLAN_LIMITS.maxWindowMs / HOUR_MS)
    : undefined;
  if (to !== undefined && hours !== undefined) throw new BadParameter("give to or hours, not both");
  const toMs = to ?? fromMs + (hours === undefined ? PLAN_LIMITS.defaultWindowMs : hours * HOUR_MS);
  if (toMs <= fromMs) throw new BadParameter("to must be after from");
  if (toMs - fromMs > PLAN_LIMITS.maxWindowMs) {
    throw new BadParameter("the window from..to must be at most 7 days (168 h)");
  }
  const limit = countParam(url, "limit", PLAN_LIMITS.defaultRuns, PLAN_LIMITS.maxRuns);
  const perTaskLimit = countParam(
    url,
    "perTask",
    Math.min(limit, PLAN_LIMITS.defaultPerTask),
    limit,
  );
  const result = scheduler.plan({ fromMs, toMs, limit, perTaskLimit });
  sendJson(response, 200, planView(result, zone));
}

/** `GET /api/timeline/recent[?since=&limit=]` → `{ since, runs: RecentRunView[], truncated }`, oldest first. */
async function recent(scheduler: Scheduler, url: URL, response: ServerResponse): Promise<void> {
  const nowMs = scheduler.clock.nowMs();
  const sinceMs =
    instantParam(url, "since", resolveZone(scheduler.timezone)) ??
    nowMs - RECENT_LIMITS.defaultSinceMs;
  if (nowMs - sinceMs > RECENT_LIMITS.maxSinceMs) {
    throw new BadParameter("since must be at most 31 days ago");
  }
  const limit = countParam(url, "limit", RECENT_LIMITS.defaultRuns, RECENT_LIMITS.maxRuns);
  // One more than asked: whether older runs remain after `limit` ones.
  const records = await scheduler.history(undefined, { limit: limit + 1 });
  const inWindow = records.filter((run) => (run.startedAt ?? run.scheduledAt) >= sinceMs);
  const truncated = inWindow.length > limit;
  const runs: RecentRunView[] = inWindow
    .slice(0, limit)
    .reverse()
    .map((record) => {
      const run = runView(record, { tails: true });
      return {
        taskName: run.taskName,
        scheduledAt: run.scheduledAt,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt,
        durationMs: run.durationMs,
        status: run.status,
        attempt: run.attempt,
      };
    });
  sendJson(response, 200, { since: new Date(sinceMs).toISOString(), runs, truncated });
}

/**
 * Serves the timeline's routes; false when `url` is not one of them:
 *
 * - `GET /api/plan[?from=&to=|hours=&tz=&limit=&perTask=]` → the runs planned in [from, to)
 *   (default now → +24 h; `hours` instead of `to`; at most 7 days), local times in `tz`
 *   (default the scheduler's zone); `from` and `to` may be local date-times in `tz`
 * - `GET /api/timeline/recent[?since=&limit=]` → the recent runs, oldest first
 *
 * Bad parameters answer 400 naming the parameter and what is allowed.
 */
export async function handleTimelineApi(
  scheduler: Scheduler,
  method: string,
  url: URL,
  response: ServerResponse,
): Promise<boolean> {
  const path = url.pathname;
  if (path !== "/api/plan" && path !== "/api/timeline/recent") return false;
  if (method !== "GET" && method !== "HEAD") {
    methodNotAllowed(response, "GET");
    return true;
  }
  try {
    if (path === "/api/plan") plan(scheduler, url, response);
    else await recent(scheduler, url, response);
  } catch (error) {
    if (!(error instanceof BadParameter)) throw error;
    sendError(response, 400, "bad_request", error.message);
  }
  return true;
}
