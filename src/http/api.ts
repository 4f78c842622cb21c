import type { IncomingMessage, ServerResponse } from "node:http";
import { isEmptyFilter, matchesFilter, parseTaskFilter } from "./task-filter.js";
import { TaskNotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import { safeLog } from "../logger.js";
import type { TaskInfo } from "../core/task.js";
import type { Scheduler } from "../scheduler/index.js";
import type { RunRecord } from "../store/store.js";
import { describeTriggerReport, type AuditTrail } from "./audit-trail.js";
import type { EventStream, StreamOwner } from "./event-stream.js";
import { methodNotAllowed, sendError, sendJson } from "./responses.js";
import { actorOf, type Principal } from "./roles.js";
import { parseHistoryQuery } from "./history-query.js";
import { parseRunId, runView } from "./run-view.js";
import { taskView, type DurationCache, type TaskView } from "./task-view.js";
import { handleTimelineApi } from "./timeline-api.js";

/** What the API handlers need. */
export interface ApiContext {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly events: EventStream;
  readonly durations: DurationCache;
  /** Where state-changing requests are recorded, and the audit routes served. */
  readonly audit: AuditTrail;
  /** Whether a task's payload marks it as added from a schedule file (`TaskView.fromScheduleFile`). */
  readonly fromScheduleFile?: (payload: unknown) => boolean;
}

/** Default and largest `limit` of `GET /api/tasks/:name/history`. */
export const HISTORY_LIMITS = Object.freeze({ default: 50, max: 1000 });
/** Default and largest `limit` of `GET /api/audit` and `GET /api/tasks/:name/audit`. */
export const AUDIT_LIMITS = Object.freeze({ default: 20, max: 500 });
/** Default and largest `limit` of `GET /api/tasks`. */
export const TASK_LIST_LIMITS = Object.freeze({ default: 500, max: 5000 });

type Action = "trigger" | "pause" | "resume" | "cancel";

/** Parses a non-negative integer query parameter, or returns the default; NaN when malformed. */
function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d{1,9}$/.test(raw)) return Number.NaN;
  return Math.min(Number(raw), max);
}

/** The `limit` parameter, from 1 to `limits.max`; answers 400 and returns undefined when malformed. */
function limitParam(
  url: URL,
  limits: { readonly default: number; readonly max: number },
  response: ServerResponse,
): number | undefined {
  const limit = intParam(url, "limit", limits.default, limits.max);
  if (!Number.isNaN(limit) && limit > 0) return limit;
  sendError(response, 400, "bad_request", `limit must be a whole number from 1 to ${limits.max}`);
  return undefined;
}

function decodeName(segment: string): string | null {
  try {
    const name = decodeURIComponent(segment);
    return name === "" ? null : name;
  } catch {
    return null;
  }
}

/** A task's view, with its recent durations. */
async function view(context: ApiContext, task: TaskInfo): Promise<TaskView> {
  return taskView(task, await context.durations.get(task.name), context.fromScheduleFile);
}

async function listTasks(context: ApiContext, url: URL, response: ServerResponse): Promise<void> {
  const limit = intParam(url, "limit", TASK_LIST_LIMITS.default, TASK_LIST_LIMITS.max);
  const offset = intParam(url, "offset", 0, Number.MAX_SAFE_INTEGER);
  if (Number.isNaN(limit) || Number.isNaN(offset)) {
    sendError(response, 400, "bad_request", "limit and offset must be whole numbers");
    return;
  }
  const filter = parseTaskFilter(url.searchParams);
  if (typeof filter === "string") {
    sendError(response, 400, "bad_request", filter);
    return;
  }
  const all = context.scheduler.listTasks();
  const matching = isEmptyFilter(filter) ? all : all.filter((task) => matchesFilter(task, filter));
  const page = matching.slice(offset, offset + limit);
  await context.durations.load(page.map((task) => task.name));
  const tasks = await Promise.all(page.map((task) => view(context, task)));
  sendJson(response, 200, { tasks, total: all.length, matched: matching.length, offset, limit });
}

async function getTask(context: ApiContext, name: string, response: ServerResponse): Promise<void> {
  const task = context.scheduler.getTask(name);
  if (task === undefined) {
    notFound(response, name);
    return;
  }
  sendJson(response, 200, { task: await view(context, task) });
}

async function history(
  context: ApiContext,
  name: string,
  url: URL,
  response: ServerResponse,
): Promise<void> {
  if (context.scheduler.getTask(name) === undefined) {
    notFound(response, name);
    return;
  }
  const query = parseHistoryQuery(url.searchParams, HISTORY_LIMITS);
  if (typeof query === "string") {
    sendError(response, 400, "bad_request", query);
    return;
  }
  const { limit, offset, statuses, output } = query;
  // One row more than asked tells whether older runs remain.
  const rows = await context.scheduler.history(name, {
    limit: limit + 1,
    offset,
    ...(statuses === undefined ? {} : { statuses }),
  });
  const runs = rows.slice(0, limit).map((run) => {
    const view = runView(run, { tails: output !== "full" });
    return output === "none" ? { ...view, stdout: null, stderr: null, output: null } : view;
  });
  sendJson(response, 200, { runs, offset, limit, more: rows.length > limit });
}

/** The newest history row of `name` scheduled at `key.scheduledAt` with that attempt, read page by page. */
async function findRun(
  scheduler: Scheduler,
  name: string,
  key: { readonly scheduledAt: number; readonly attempt: number },
): Promise<RunRecord | undefined> {
  const page = 500;
  for (let offset = 0; ; offset += page) {
    const rows = await scheduler.history(name, { limit: page, offset });
    const found = rows.find(
      (row) => row.scheduledAt === key.scheduledAt && row.attempt === key.attempt,
    );
    if (found !== undefined || rows.length < page) return found;
  }
}

/** `{ run: RunView }`, whole: the newest history row of the task with that id. */
async function getRun(
  context: ApiContext,
  name: string,
  id: string,
  response: ServerResponse,
): Promise<void> {
  const key = parseRunId(id);
  if (key === undefined) {
    sendError(
      response,
      400,
      "bad_request",
      "A run id is <scheduledAt ms>-<attempt>, as RunView.id",
    );
    return;
  }
  const run = await findRun(context.scheduler, name, key);
  if (run === undefined) {
    sendError(response, 404, "not_found", `No run ${id} of task ${JSON.stringify(name)}`);
    return;
  }
  sendJson(response, 200, { run: runView(run) });
}

/**
 * `{ entries: AuditView[], available }`, newest first, of one task or all
 * (`available` false when the store keeps no audit log).
 */
async function auditLog(
  context: ApiContext,
  name: string | undefined,
  url: URL,
  response: ServerResponse,
): Promise<void> {
  const limit = limitParam(url, AUDIT_LIMITS, response);
  if (limit === undefined) return;
  const entries = await context.audit.list(name, limit);
  sendJson(response, 200, { entries: entries ?? [], available: entries !== undefined });
}

/**
 * `trigger` starts a run and answers 202 at once (the run goes on; its events
 * follow on `/api/events`), or waits for it with `?wait=1` and answers with
 * the RunReport. `pause` and `resume` answer with the task.
 */
async function act(
  context: ApiContext,
  principal: Principal,
  name: string,
  action: Action,
  url: URL,
  response: ServerResponse,
): Promise<void> {
  const { scheduler } = context;
  if (scheduler.getTask(name) === undefined) {
    notFound(response, name);
    return;
  }
  const audit = (result: "ok" | "failed", detail: string | null): Promise<void> =>
    context.audit.record(principal, action, name, result, detail);
  try {
    if (action === "trigger") {
      const run = scheduler.triggerTask(name);
      const wait = url.searchParams.get("wait");
      if (wait === "1" || wait === "true") {
        const report = await run;
        await audit("ok", describeTriggerReport(report));
        sendJson(response, 200, { report });
        return;
      }
      run.catch((error: unknown) => {
        safeLog(context.logger, "error", { err: error, taskName: name }, "Trigger failed");
      });
      await audit("ok", "run started");
      sendJson(response, 202, { accepted: true, taskName: name });
      return;
    }
    if (action === "cancel") {
      const cancelled = scheduler.cancelTask(name, actorOf(principal));
      await audit("ok", cancelled === 0 ? "nothing was running" : `${cancelled} run(s) cancelled`);
      sendJson(response, 200, { cancelled });
      return;
    }
    const info =
      action === "pause" ? await scheduler.pauseTask(name) : await scheduler.resumeTask(name);
    await audit("ok", null);
    context.events.sendTask({ type: "changed", taskName: name });
    sendJson(response, 200, { task: await view(context, info) });
  } catch (error) {
    if (error instanceof TaskNotFoundError) {
      notFound(response, name);
      return;
    }
    await audit("failed", error instanceof Error ? error.message : String(error));
    throw error;
  }
}

function notFound(response: ServerResponse, name: string): void {
  sendError(response, 404, "not_found", `No task named ${JSON.stringify(name)}`);
}

/**
 * Serves the JSON API of an authenticated (and, for POSTs, CSRF-checked)
 * request under `/api/`:
 *
 * - `GET /api/tasks[?q=&state=&status=&limit=&offset=]` → `{ tasks: TaskView[], total, matched, offset, limit }`
 * - `GET /api/tasks/:name` → `{ task }`
 * - `GET /api/tasks/:name/history[?limit=&offset=&status=&output=tails|none|full]` →
 *   `{ runs: RunView[], offset, limit, more }` newest first, outputs cut to their tails
 *   (`output=none`: left out; `full`: whole); `status` is a comma-separated list
 * - `GET /api/tasks/:name/runs/:id` → `{ run: RunView }`, whole
 * - `POST /api/tasks/:name/cancel` → `{ cancelled }`: how many runs in flight here were cancelled
 * - `POST /api/tasks/:name/trigger[?wait=1]` → 202 `{ accepted }` (200 `{ report }` with wait)
 * - `POST /api/tasks/:name/pause|resume` → `{ task }`
 * - `GET /api/tasks/:name/audit[?limit=]` → `{ entries: AuditView[], available }` newest first
 * - `GET /api/audit[?limit=]` → the same for every task (and actions on none, like key rotation)
 * - `GET /api/events` → Server-Sent Events (`task` and `run` events)
 * - `GET /api/plan`, `GET /api/timeline/recent` → the timeline (`timeline-api.ts`)
 *
 * Returns false when the path is not an API route. `caller` is who asks (for
 * the caps on event streams); every POST is recorded in the audit log with
 * `principal`, who made it.
 */
export async function handleApi(
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  caller: StreamOwner,
  principal: Principal,
): Promise<boolean> {
  const method = request.method ?? "GET";
  const path = url.pathname;
  if (await handleTimelineApi(context.scheduler, method, url, response)) return true;
  if (path === "/api/tasks") {
    if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
    else await listTasks(context, url, response);
    return true;
  }
  if (path === "/api/audit") {
    if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
    else await auditLog(context, undefined, url, response);
    return true;
  }
  if (path === "/api/events") {
    if (method !== "GET") methodNotAllowed(response, "GET");
    else {
      const refusal = context.events.add(response, caller);
      if (refusal === "total") {
        sendError(response, 503, "too_many_streams", "Too many event streams are open", {
          "Retry-After": "10",
        });
      } else if (refusal !== null) {
        sendError(
          response,
          429,
          "too_many_streams",
          `Too many event streams are open for this ${refusal}; close one (another tab) first`,
          { "Retry-After": "10" },
        );
      }
    }
    return true;
  }
  const runMatch = /^\/api\/tasks\/([^/]+)\/runs\/([^/]+)$/.exec(path);
  if (runMatch !== null) {
    const taskName = decodeName(runMatch[1] ?? "");
    if (taskName === null)
      sendError(response, 400, "bad_request", "Malformed task name in the path");
    else if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
    else await getRun(context, taskName, runMatch[2] ?? "", response);
    return true;
  }
  const match = /^\/api\/tasks\/([^/]+)(?:\/(history|audit|trigger|pause|resume|cancel))?$/.exec(
    path,
  );
  if (match === null) return false;
  const name = decodeName(match[1] ?? "");
  if (name === null) {
    sendError(response, 400, "bad_request", "Malformed task name in the path");
    return true;
  }
  const sub = match[2];
  if (sub === "audit") {
    if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
    else await auditLog(context, name, url, response);
    return true;
  }
  if (sub === undefined || sub === "history") {
    if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
    else if (sub === undefined) await getTask(context, name, response);
    else await history(context, name, url, response);
    return true;
  }
  if (method !== "POST") methodNotAllowed(response, "POST");
  else await act(context, principal, name, sub as Action, url, response);
  return true;
}
