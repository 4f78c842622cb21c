import type { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import type { TaskInfo } from "../core/task.js";
import type {
  RunErrorEvent,
  RunMissedEvent,
  RunSkippedEvent,
  RunStartEvent,
  RunSuccessEvent,
  TaskRemovedEvent,
} from "../events.js";
import type { Scheduler } from "../scheduler/index.js";
import type { Session } from "./auth.js";

/** What one server-sent `run` event carries. */
export interface RunChange {
  readonly type: "start" | "success" | "error" | "skipped" | "missed";
  readonly taskName: string;
  readonly scheduledAt: string;
  readonly attempt?: number;
  readonly durationMs?: number;
  readonly status?: string;
  readonly message?: string;
}

/** What one server-sent `task` event carries: the task's name and whether it still exists. */
export interface TaskChange {
  readonly type: "registered" | "removed" | "completed" | "changed";
  readonly taskName: string;
}

/** Options of {@link EventStream}. */
export interface EventStreamOptions {
  /**
   * Interval of the keep-alive comment that stops proxies from closing idle streams.
   * @defaultValue 15000
   */
  readonly keepAliveMs?: number;
  /**
   * Most streams open at once; more get 503.
   * @defaultValue 100
   */
  readonly maxClients?: number;
  /**
   * Most streams open at once for one client address (see `clientKey`); more get 429.
   * @defaultValue 20
   */
  readonly maxPerClient?: number;
  /**
   * Most streams open at once for one login session; more get 429.
   * @defaultValue 5
   */
  readonly maxPerSession?: number;
  /**
   * Whether a session is still logged in; checked at each keep-alive, and the
   * streams of a session that is not are closed (expired, or dropped for newer ones).
   * @defaultValue every session stays live
   */
  readonly isSessionLive?: (session: Session) => boolean;
  /** Called when a task's runs changed (to drop cached durations). */
  readonly onRunFinished?: (taskName: string) => void;
}

/** Who opened a stream: a client address (see `clientKey`) and, for a cookie login, its session. */
export interface StreamOwner {
  readonly client: string;
  readonly session: Session | null;
}

/** Why {@link EventStream.add} refused a stream: too many in all, for the client, or for the session. */
export type StreamRefusal = "total" | "client" | "session";

interface Stream {
  readonly response: ServerResponse;
  readonly owner: StreamOwner;
}

/** Defaults of {@link EventStreamOptions}. */
export const EVENT_STREAM_DEFAULTS = Object.freeze({
  keepAliveMs: 15_000,
  maxClients: 100,
  maxPerClient: 20,
  maxPerSession: 5,
} satisfies Required<
  Pick<EventStreamOptions, "keepAliveMs" | "maxClients" | "maxPerClient" | "maxPerSession">
>);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Server-Sent Events for `GET /api/events`: `task` events when a task is
 * registered, removed, completed, quarantined, paused or resumed (through this server),
 * `run` events for run starts, successes, errors, skips and misses. Clients
 * re-read what they show on each event. Listens to the scheduler only while
 * the stream exists; {@link close} ends every client. Streams are capped in
 * all, per client address and per session, and a session's streams end when
 * it logs out ({@link closeSession}) or stops being live.
 */
export class EventStream {
  readonly #clients = new Set<Stream>();
  readonly #maxClients: number;
  readonly #maxPerClient: number;
  readonly #maxPerSession: number;
  readonly #isSessionLive: (session: Session) => boolean;
  readonly #timer: NodeJS.Timeout;
  readonly #detach: () => void;
  #nextId = 1;

  constructor(scheduler: Scheduler, options: EventStreamOptions = {}) {
    this.#maxClients = options.maxClients ?? EVENT_STREAM_DEFAULTS.maxClients;
    this.#maxPerClient = options.maxPerClient ?? EVENT_STREAM_DEFAULTS.maxPerClient;
    this.#maxPerSession = options.maxPerSession ?? EVENT_STREAM_DEFAULTS.maxPerSession;
    this.#isSessionLive = options.isSessionLive ?? (() => true);
    const onRunFinished = options.onRunFinished;
    const finished = onRunFinished ?? (() => {});
    const iso = (date: Date): string => date.toISOString();
    // A batch's starts together, once its callbacks have all been called: out of their path.
    const onStarted = (events: readonly RunStartEvent[]): void => {
      if (this.#clients.size === 0) return;
      for (const e of events)
        this.sendRun({
          type: "start",
          taskName: e.taskName,
          scheduledAt: iso(e.scheduledAt),
          attempt: e.attempt,
        });
    };
    // The history row of a finished run is written just after its event: send on the next turn, so
    // that a client re-reading the history on this event finds the row.
    // The durations cache is dropped now and again then, in case a read cached the history in between.
    // One turn's finished runs share one setImmediate (a burst ends thousands at once), and
    // nothing is built for clients when none is connected.
    const finishedThisTurn = new Set<string>();
    const sendsThisTurn: (() => void)[] = [];
    const nextTurn = (): void => {
      for (const taskName of finishedThisTurn) finished(taskName);
      finishedThisTurn.clear();
      for (const send of sendsThisTurn.splice(0)) send();
    };
    // With no client connected nothing is built or kept, unless a cache waits.
    const later = <E extends RunSuccessEvent | RunErrorEvent>(
      e: E,
      change: (e: E) => RunChange,
    ): void => {
      const sending = this.#clients.size > 0;
      if (!sending && onRunFinished === undefined) return;
      finished(e.taskName);
      if (finishedThisTurn.size === 0 && sendsThisTurn.length === 0) setImmediate(nextTurn);
      finishedThisTurn.add(e.taskName);
      if (sending) sendsThisTurn.push(() => this.sendRun(change(e)));
    };
    const succeeded = (e: RunSuccessEvent): RunChange => ({
      type: "success",
      taskName: e.taskName,
      scheduledAt: iso(e.scheduledAt),
      attempt: e.attempt,
      durationMs: e.durationMs,
    });
    const failed = (e: RunErrorEvent): RunChange => ({
      type: "error",
      taskName: e.taskName,
      scheduledAt: iso(e.scheduledAt),
      attempt: e.attempt,
      durationMs: e.durationMs,
      status: e.status,
      message: errorMessage(e.error),
    });
    const onSuccess = (e: RunSuccessEvent): void => later(e, succeeded);
    const onError = (e: RunErrorEvent): void => later(e, failed);
    const onSkipped = (e: RunSkippedEvent): void =>
      this.sendRun({ type: "skipped", taskName: e.taskName, scheduledAt: iso(e.scheduledAt) });
    const onMissed = (e: RunMissedEvent): void =>
      this.sendRun({
        type: "missed",
        taskName: e.taskName,
        scheduledAt: e.missed.length > 0 ? iso(e.missed[0] as Date) : "",
      });
    const onRegistered = (task: TaskInfo): void =>
      this.sendTask({ type: "registered", taskName: task.name });
    const onRemoved = (e: TaskRemovedEvent): void => {
      finished(e.taskName);
      this.sendTask({ type: "removed", taskName: e.taskName });
    };
    const onCompleted = (task: TaskInfo): void =>
      this.sendTask({ type: "completed", taskName: task.name });
    scheduler.on("runs:started", onStarted);
    scheduler.on("run:success", onSuccess);
    scheduler.on("run:error", onError);
    scheduler.on("run:skipped", onSkipped);
    scheduler.on("run:missed", onMissed);
    scheduler.on("task:registered", onRegistered);
    scheduler.on("task:removed", onRemoved);
    scheduler.on("task:completed", onCompleted);
    // Listened to untyped: not every Scheduler build emits it.
    const untyped = scheduler as unknown as EventEmitter;
    const onQuarantined = (event: unknown): void => {
      const name = (event as { taskName?: unknown; name?: unknown } | null) ?? {};
      const taskName = typeof name.taskName === "string" ? name.taskName : name.name;
      if (typeof taskName === "string") this.sendTask({ type: "changed", taskName });
    };
    untyped.on("task:quarantined", onQuarantined);
    this.#detach = () => {
      scheduler.off("runs:started", onStarted);
      scheduler.off("run:success", onSuccess);
      scheduler.off("run:error", onError);
      scheduler.off("run:skipped", onSkipped);
      scheduler.off("run:missed", onMissed);
      scheduler.off("task:registered", onRegistered);
      scheduler.off("task:removed", onRemoved);
      scheduler.off("task:completed", onCompleted);
      untyped.off("task:quarantined", onQuarantined);
    };
    this.#timer = setInterval(() => {
      this.#closeWhere(
        (stream) => stream.owner.session !== null && !this.#isSessionLive(stream.owner.session),
      );
      this.#write(": keep-alive\n\n");
    }, options.keepAliveMs ?? EVENT_STREAM_DEFAULTS.keepAliveMs);
    this.#timer.unref();
  }

  /** Number of connected clients. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Makes `response` an event stream of `owner`; returns why not (and writes
   * nothing) when there are too many streams in all, of the client, or of the session.
   */
  add(response: ServerResponse, owner: StreamOwner): StreamRefusal | null {
    if (this.#clients.size >= this.#maxClients) return "total";
    let ofClient = 0;
    let ofSession = 0;
    for (const { owner: other } of this.#clients) {
      if (other.client === owner.client) ofClient++;
      if (owner.session !== null && other.session === owner.session) ofSession++;
    }
    if (ofSession >= this.#maxPerSession) return "session";
    if (ofClient >= this.#maxPerClient) return "client";
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    // Reconnect delay, then a first event so that clients know the stream is live.
    response.write(`retry: 3000\n\nevent: hello\ndata: {}\n\n`);
    const stream: Stream = { response, owner };
    this.#clients.add(stream);
    response.on("close", () => this.#clients.delete(stream));
    return null;
  }

  /** Ends every stream of `session` (at its logout). */
  closeSession(session: Session): void {
    this.#closeWhere((stream) => stream.owner.session === session);
  }

  /** Sends a `task` event (also used by the API after pause and resume, which the scheduler does not emit). */
  sendTask(change: TaskChange): void {
    this.#send("task", change);
  }

  /** Sends a `run` event. */
  sendRun(change: RunChange): void {
    this.#send("run", change);
  }

  /** Ends every client and stops listening to the scheduler. */
  close(): void {
    clearInterval(this.#timer);
    this.#detach();
    for (const { response } of this.#clients) response.end();
    this.#clients.clear();
  }

  #send(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    this.#write(`id: ${this.#nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #write(text: string): void {
    for (const { response } of this.#clients) {
      if (!response.writableEnded) response.write(text);
    }
  }

  #closeWhere(test: (stream: Stream) => boolean): void {
    for (const stream of this.#clients) {
      if (!test(stream)) continue;
      this.#clients.delete(stream);
      stream.response.end();
    }
  }
}
