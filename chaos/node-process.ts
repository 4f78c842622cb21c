/**
 * The suite's side of one node process (chaos/node.ts): forks it, feeds its
 * side effects to the sink, follows its status, and stops, kills, freezes or
 * thaws it.
 */
import { fork, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killPid, onCleanup } from "./cleanup.js";
import type { NodeConfig, NodeMessage, SuiteMessage } from "./protocol.js";
import type { Sink } from "./sink.js";

const NODE_SCRIPT = fileURLToPath(new URL("./node.ts", import.meta.url));

/** The last lines of a node's log, indented, for an error message; empty when there are none. */
function logTail(file: string, lines = 15): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return "";
  }
  const tail = text.trimEnd().split("\n").slice(-lines);
  return tail.length === 0 || tail[0] === ""
    ? ""
    : `; its log ends:\n      ${tail.join("\n      ")}`;
}

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A node process and what it reported. */
export class NodeProcess {
  readonly config: NodeConfig;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Callbacks in flight, as last reported (every 100 ms). */
  inFlight = 0;
  /** Scheduler events counted by the node, as last reported. */
  counts: Record<string, number> = {};
  /** The highest resident set size it reported, bytes (memory under load must stay bounded). */
  peakRss = 0;
  /** Real epoch ms when its `stop()` resolved, if it was stopped gracefully. */
  stoppedAt: number | undefined;
  /** True while frozen by SIGSTOP. */
  frozen = false;
  /** Why the scheduler refused to start (its node id held by another live process), if it did. */
  refusal: string | undefined;
  readonly ready: Promise<void>;
  readonly registered: Promise<void>;
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  readonly #forget: () => void;

  constructor(config: NodeConfig, sink: Sink, logDir: string) {
    this.config = config;
    this.logFile = join(logDir, `${config.tag.replace(/[^\w.-]/g, "_")}.log`);
    const log = openSync(this.logFile, "a");
    this.child = fork(NODE_SCRIPT, [JSON.stringify(config)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", log, log, "ipc"],
    });
    closeSync(log);
    const pid = this.child.pid;
    this.#forget = onCleanup(() => killPid(pid));
    let markReady: () => void = () => undefined;
    let markRegistered: () => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    let isReady = false;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = () => {
        isReady = true;
        resolve();
      };
      fail = reject;
    });
    this.registered = new Promise<void>((resolve) => (markRegistered = resolve));
    // Not every caller waits for these: an exit before ready must not be an unhandled rejection.
    this.ready.catch(() => undefined);
    this.exited = new Promise<Exit>((resolve) =>
      this.child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        this.inFlight = 0;
        // Its log's last lines say why: the work directory is gone by the report (unless --keep).
        if (!isReady)
          fail(
            new Error(
              `node ${config.tag} exited (${code ?? signal}) before it was ready${logTail(this.logFile)}`,
            ),
          );
        this.#forget();
        resolve(this.#exit);
      }),
    );
    this.child.on("message", (message: NodeMessage) => {
      switch (message.type) {
        case "ready":
          markReady();
          break;
        case "refused":
          this.refusal = `${message.code}: ${message.message}`;
          break;
        case "registered":
          markRegistered();
          break;
        case "status":
          this.inFlight = message.inFlight;
          this.counts = { ...message.counts };
          this.peakRss = Math.max(this.peakRss, message.rss);
          break;
        case "stopped":
          this.stoppedAt = message.at;
          break;
        case "begin":
          sink.begin(message);
          break;
        case "end":
          sink.end(message);
          break;
        case "done": {
          const accepted = sink.done(message);
          this.send({ type: "done-ack", request: message.request, accepted });
          break;
        }
      }
    });
    // A node killed mid-send closes the channel; nothing to do about it.
    this.child.on("error", () => undefined);
  }

  get tag(): string {
    return this.config.tag;
  }
  get nodeId(): string {
    return this.config.nodeId;
  }
  /** True until the process exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  send(message: SuiteMessage): void {
    if (this.child.connected) this.child.send(message, (error) => void error);
  }

  /** SIGKILL; resolves at exit. */
  async kill(): Promise<Exit> {
    killPid(this.child.pid);
    this.frozen = false;
    return await this.exited;
  }

  /** SIGSTOP: the process freezes (its timers, its lease renewals, everything). */
  freeze(): void {
    if (this.child.pid !== undefined && this.alive) process.kill(this.child.pid, "SIGSTOP");
    this.frozen = true;
  }

  /** SIGCONT. */
  thaw(): void {
    if (this.child.pid !== undefined && this.alive) process.kill(this.child.pid, "SIGCONT");
    this.frozen = false;
  }

  /**
   * Graceful stop (`scheduler.stop()`), then the node lingers `lingerMs` and
   * exits; SIGKILL if it has not exited within `timeoutMs`.
   */
  async stop(lingerMs = 300, timeoutMs = 20_000): Promise<Exit> {
    if (!this.alive) return this.#exit as Exit;
    if (this.frozen) this.thaw();
    this.send({ type: "stop", lingerMs });
    const timer = setTimeout(() => killPid(this.child.pid), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What the nodes counted, and the database clock's offset. */
export function nodeNotes(
  processes: readonly NodeProcess[],
  db: { offsetMs: number; uncertaintyMs: number },
): string[] {
  const totals: Record<string, number> = {};
  for (const p of processes) {
    for (const [event, n] of Object.entries(p.counts)) totals[event] = (totals[event] ?? 0) + n;
  }
  const events = Object.entries(totals)
    .map(([event, n]) => `${event} ${n}`)
    .join(", ");
  const peaks = processes.map((p) => `${p.config.tag} ${Math.round(p.peakRss / 1048576)}`);
  return [
    `node events: ${events || "none"}`,
    `peak memory (RSS, MB): ${peaks.join(", ")}`,
    `database clock − host clock: ${db.offsetMs.toFixed(1)} ± ${db.uncertaintyMs.toFixed(1)} ms`,
  ];
}
