import { Counter, type Registry } from "prom-client";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import { describeMs } from "../time/duration.js";
import {
  daemonHeartbeatTarget,
  type HeartbeatSpec,
  type HeartbeatTarget,
} from "./heartbeat-spec.js";
import type { Redactor, SecretRedactor } from "./secret-redactor.js";
import { VERSION } from "./version.js";

/**
 * Why the scheduler is not healthy enough to send a heartbeat; undefined when
 * it is: it must be started, its store usable (no claim or finishing write
 * failing, as `/readyz` has it) and answering now — asked the time within
 * `timeoutMs`, which reaches the database on PostgreSQL, so that a database
 * that hangs or went away while nothing ran is noticed too.
 */
export async function heartbeatBlocker(
  scheduler: Scheduler,
  timeoutMs: number,
): Promise<string | undefined> {
  if (!scheduler.running) return "the scheduler is not running";
  const store = scheduler.storeStatus;
  if (!store.usable) return `the store is unusable (${store.reason ?? "other"})`;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`the store did not answer within ${describeMs(timeoutMs)}`),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      scheduler.store.now().then(
        () => undefined,
        (error: unknown) =>
          `the store failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a {@link Heartbeat} needs. */
export interface HeartbeatOptions {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Hides secrets in error messages before they are logged. */
  readonly redactor: Redactor;
}

type Outcome = "sent" | "failed" | "skipped";

/**
 * Pings an outside URL every `every` while the scheduler is healthy (started,
 * its store usable and answering: see {@link heartbeatBlocker}), so that a
 * monitor (healthchecks.io, Uptime Kuma…) raises the alarm when the pings
 * stop, whatever stopped them: a dead or frozen process, a lost store, a
 * stopped scheduler. The timer runs on the scheduler's own event loop (a
 * blocked or frozen loop sends nothing; no worker thread pings for it) but
 * never on a run's path: a slow or failing monitor delays no run. One ping
 * at a time, each with a timeout; errors are logged, once per streak, and
 * never stop the daemon. Log lines show the URL's origin only.
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  #target: HeartbeatTarget | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by configure/stop: a ping in flight from an older setting does not re-arm. */
  #generation = 0;
  /** The current streak of one outcome, for one line per change rather than per ping. */
  #streak: { outcome: Outcome; count: number; reason: string } | undefined;
  #counter: Counter<"outcome"> | undefined;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** Counts pings in `registry` as `orchestrator_heartbeats_total{outcome}` (sent, failed, skipped). */
  registerMetrics(registry: Registry): void {
    this.#counter = new Counter({
      name: "orchestrator_heartbeats_total",
      help: "Heartbeat pings: sent (answered 2xx), failed (error, timeout or other status), skipped (the scheduler was not healthy).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    });
    for (const outcome of ["sent", "failed", "skipped"] as const) this.#counter.inc({ outcome }, 0);
  }

  /** The heartbeat in force, if any. */
  get target(): HeartbeatTarget | undefined {
    return this.#target;
  }

  /** Starts (or restarts, or with undefined stops) pinging: the first ping goes at once. */
  configure(target: HeartbeatTarget | undefined): void {
    const before = this.#target;
    this.stop();
    this.#target = target;
    if (target === undefined) {
      if (before !== undefined) safeLog(this.#options.logger, "info", {}, "heartbeat off");
      return;
    }
    safeLog(
      this.#options.logger,
      "info",
      { url: target.label, every: describeMs(target.everyMs), method: target.method },
      "heartbeat: pinging while the scheduler is healthy",
    );
    const generation = this.#generation;
    this.#arm(generation, 0);
  }

  /** Stops pinging; a ping in flight is not awaited. */
  stop(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#streak = undefined;
  }

  #arm(generation: number, delayMs: number): void {
    this.#timer = setTimeout(() => void this.#beat(generation), delayMs);
    this.#timer.unref();
  }

  async #beat(generation: number): Promise<void> {
    const target = this.#target;
    if (target === undefined || generation !== this.#generation) return;
    const { scheduler } = this.#options;
    const blocker = await heartbeatBlocker(scheduler, target.timeoutMs);
    if (generation !== this.#generation) return;
    if (blocker !== undefined) this.#note("skipped", this.#options.redactor.redact(blocker));
    else {
      const failure = await this.#send(target);
      if (generation !== this.#generation) return;
      this.#note(failure === undefined ? "sent" : "failed", failure ?? "");
    }
    if (generation === this.#generation) this.#arm(generation, target.everyMs);
  }

  /** Sends one ping; resolves with what went wrong, or undefined when it was answered 2xx. */
  async #send(target: HeartbeatTarget): Promise<string | undefined> {
    const { scheduler, redactor } = this.#options;
    try {
      // fetch refuses credentials in a URL: they go in an Authorization header.
      const url = new URL(target.url);
      const headers: Record<string, string> = { "user-agent": `orchestrator/${VERSION}` };
      if (url.username !== "" || url.password !== "") {
        const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
        headers.authorization = `Basic ${Buffer.from(user).toString("base64")}`;
        url.username = "";
        url.password = "";
      }
      const response = await fetch(url, {
        method: target.method,
        headers,
        ...(target.method === "POST"
          ? { body: `orchestrator ${VERSION} node ${scheduler.nodeId}: ${scheduler.size} tasks` }
          : {}),
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `answered HTTP ${response.status}`;
    } catch (error) {
      const timedOut = (error as { name?: string }).name === "TimeoutError";
      if (timedOut) return `no answer within ${describeMs(target.timeoutMs)}`;
      const cause = (error as { cause?: unknown }).cause;
      const text =
        cause instanceof Error
          ? cause.message
          : error instanceof Error
            ? error.message
            : String(error);
      return redactor.redact(text);
    }
  }

  /** Counts an outcome and logs the start and the end of streaks that are not "sent". */
  #note(outcome: Outcome, reason: string): void {
    this.#counter?.inc({ outcome });
    const streak = this.#streak;
    const { logger } = this.#options;
    const url = this.#target?.label;
    if (streak !== undefined && streak.outcome === outcome && streak.reason === reason) {
      streak.count++;
      return;
    }
    if (streak === undefined && outcome === "sent") {
      safeLog(logger, "info", { url }, "heartbeat sent");
    } else if (streak !== undefined && streak.outcome !== "sent" && outcome === "sent") {
      safeLog(
        logger,
        "info",
        { url, [streak.outcome]: streak.count },
        `heartbeat sent again after ${streak.count} ${streak.outcome === "skipped" ? "skipped" : "failed"}`,
      );
    } else if (outcome === "skipped") {
      safeLog(logger, "warn", { url }, `heartbeat not sent: ${reason}`);
    } else if (outcome === "failed") {
      safeLog(
        logger,
        "warn",
        { url },
        `heartbeat failed: ${reason}; trying again at the next beat`,
      );
    }
    // A skip that follows failures (or the reverse) starts a new streak, whose count starts here.
    this.#streak = { outcome, count: 1, reason };
  }
}

/**
 * A reloaded schedule file's `heartbeat` (when no `--heartbeat-url` overrides
 * it): applied if it changed; one that cannot be resolved is logged and the
 * heartbeat in force kept.
 */
export function reloadFileHeartbeat(
  heartbeat: Heartbeat,
  spec: HeartbeatSpec | undefined,
  context: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly redactor: SecretRedactor;
    readonly logger: Logger;
  },
): void {
  let target: HeartbeatTarget | undefined;
  try {
    target = daemonHeartbeatTarget(undefined, spec, context.env);
  } catch (error) {
    safeLog(
      context.logger,
      "error",
      { err: context.redactor.redact(error instanceof Error ? error.message : String(error)) },
      "heartbeat of the reloaded file not applied: the heartbeat in force is kept",
    );
    return;
  }
  for (const secret of target?.secrets ?? []) context.redactor.add(secret);
  const now = heartbeat.target;
  const same =
    now?.url === target?.url &&
    now?.everyMs === target?.everyMs &&
    now?.method === target?.method &&
    now?.timeoutMs === target?.timeoutMs;
  if (!same) heartbeat.configure(target);
}
