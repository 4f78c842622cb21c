/**
 * Runs one cluster scenario: a store (a fresh schema on the suite's private
 * PostgreSQL, or a fresh SQLite file), N node processes, the workload with
 * an active window that starts once every node is up, the scenario's fault
 * injected during the window, a drain, a graceful stop, then the checker.
 *
 * The checked window is the tasks' whole active window: every task has
 * `startAt`/`endAt` on half seconds, so its slots are the whole seconds
 * strictly between them, and nothing outside the window is ever due. Start-up
 * and shutdown of the suite sit outside it by construction: nodes are up
 * before `startAt`, and they are stopped only once every slot's story ended
 * (no claim held, no callback running) after `endAt`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import pg from "pg";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { RunRecord, Store } from "../src/store/store.js";
import { SystemClock } from "../src/time/clock.js";
import { check, clockTime, type CheckResult } from "./checker.js";
import { NodeProcess, nodeNotes } from "./node-process.js";
import type { PostgresInstance } from "./postgres-instance.js";
import type { NodeConfig, StoreSpec } from "./protocol.js";
import { Sink } from "./sink.js";
import { buildWorkload, slotsOf, type ActiveWindow, type WorkTask } from "./workload.js";

/** What every scenario gets from the suite. */
export interface SuiteEnv {
  /** A directory of the scenario's own (logs, SQLite files). */
  readonly dir: string;
  /** The suite's PostgreSQL, started on first use. */
  postgres(): Promise<PostgresInstance>;
  /** `--short`: the CI subset, with shorter windows. */
  readonly short: boolean;
  /** `--tasks`: how many workload tasks, each due every second (100 by default). */
  readonly tasks: number;
  /** Prints a line of progress. */
  log(text: string): void;
}

/** A scenario's report: the checker's counts and what happened. */
export interface ScenarioOutcome {
  readonly result: CheckResult;
  /** The checked window, in words. */
  readonly window: string;
  /** What was done and seen (faults, with times relative to the first slot; node events). */
  readonly notes: readonly string[];
}

/** One scenario of the suite. */
export interface Scenario {
  readonly name: string;
  /** One line: the fault. */
  readonly description: string;
  /** Part of `--short` (the CI subset). */
  readonly short?: boolean;
  run(env: SuiteEnv): Promise<ScenarioOutcome>;
}

/** One node of a cluster scenario. */
export interface NodeSpec {
  readonly nodeId: string;
  /** This node's clock minus the real clock, in ms. */
  readonly clockOffsetMs?: number;
}

/** What a fault injection can do during the window. */
export interface ClusterContext {
  readonly env: SuiteEnv;
  readonly store: StoreSpec;
  /** The suite's PostgreSQL (PostgreSQL scenarios only). */
  readonly pg: PostgresInstance | undefined;
  readonly window: ActiveWindow;
  /** The first slot (epoch ms): times of {@link at} count from it. */
  readonly t0: number;
  readonly sink: Sink;
  /** Every node process started, in order (dead ones too). */
  readonly processes: readonly NodeProcess[];
  /** Processes alive now. */
  live(): NodeProcess[];
  /** The live, running process with the most callbacks in flight. */
  busiest(): NodeProcess | undefined;
  /** Starts another process (a restart when `nodeId` was used before); it restores the workload from the store. */
  startNode(spec: NodeSpec): NodeProcess;
  /** Resolves at `t0 + offsetMs`. */
  at(offsetMs: number): Promise<void>;
  /** `t+5.150s` for now. */
  now(): string;
  /** Records a line for the report. */
  note(text: string): void;
  /** Adds to a scenario-specific invariant (must end 0). */
  count(invariant: string, n: number): void;
}

/** A cluster scenario, as its file declares it. */
export interface ClusterScenario {
  readonly name: string;
  readonly description: string;
  readonly short?: boolean;
  readonly store: "postgres" | "sqlite";
  /** @defaultValue three nodes n1, n2, n3 with true clocks */
  readonly nodes?: readonly NodeSpec[];
  /** Length of the active window, in ms. @defaultValue 16000 (12000 with --short) */
  readonly windowMs?: number;
  /** Lease of every node, in ms. @defaultValue 3000 */
  readonly leaseMs?: number;
  /** The fault: runs from before the window opens; should end before it closes. */
  inject(ctx: ClusterContext): Promise<void>;
}

const DEFAULT_NODES: readonly NodeSpec[] = [{ nodeId: "n1" }, { nodeId: "n2" }, { nodeId: "n3" }];
const READY_TIMEOUT_MS = 90_000;
/** After `endAt`, stories may still be ending (handlers of 2 s, retries, leases of killed nodes). */
const DRAIN_MIN_MS = 2_500;
const DRAIN_MAX_MS = 45_000;

/** Resolves `promise`, or rejects after `ms` naming `what`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps until the epoch ms `atMs` (at once when past). */
export async function sleepUntil(atMs: number): Promise<void> {
  const ms = atMs - Date.now();
  if (ms > 0) await sleep(ms);
}

/** One query on a connection of its own (the server may have been restarted since the last one). */
export async function pgQuery<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    query_timeout: 10_000,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Database clock minus host clock, in ms, known to ± `uncertaintyMs`: the sample with the shortest round trip of five. */
export async function measureDbOffset(
  url: string,
): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    query_timeout: 10_000,
  });
  client.on("error", () => undefined);
  await client.connect();
  try {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      const rows = await client.query<{ ms: number }>(
        "select extract(epoch from clock_timestamp()) * 1000 as ms",
      );
      const after = Date.now();
      const rtt = after - before;
      if (rtt < best.rtt) best = { rtt, offset: Number(rows.rows[0]?.ms) - (before + after) / 2 };
    }
    // Date.now() counts whole ms: one more of doubt.
    return { offsetMs: best.offset, uncertaintyMs: best.rtt / 2 + 1 };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Reads the whole run history of a store through the Store API (new fields come with it). */
export async function readHistory(store: Store): Promise<RunRecord[]> {
  await store.open({ nodeId: "chaos-checker", clock: new SystemClock() });
  try {
    return await store.history({ limit: 10_000_000 });
  } finally {
    await store.close();
  }
}

/** Claims not released yet, or undefined when the store cannot be asked right now. */
async function heldClaims(spec: StoreSpec): Promise<number | undefined> {
  try {
    if (spec.kind === "postgres") {
      const rows = await pgQuery<{ n: number }>(
        spec.url,
        `select count(*)::int as n from "${spec.schema}".claims where released_at is null`,
      );
      return rows[0]?.n;
    }
    const db = new Database(spec.path, { readonly: true, timeout: 200 });
    try {
      return (db.prepare("select count(*) as n from claims").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Builds the Scenario of a cluster scenario declaration. */
export function clusterScenario(spec: ClusterScenario): Scenario {
  return {
    name: spec.name,
    description: spec.description,
    ...(spec.short === undefined ? {} : { short: spec.short }),
    run: (env) => runCluster(spec, env),
  };
}

async function runCluster(spec: ClusterScenario, env: SuiteEnv): Promise<ScenarioOutcome> {
  const notes: string[] = [];
  const extra: Record<string, number> = {};
  const sink = new Sink();
  const pgServer = spec.store === "postgres" ? await env.postgres() : undefined;
  const logDir = join(env.dir, "logs");
  mkdirSync(logDir, { recursive: true });
  const schema = `chaos_${spec.name.replace(/\W/g, "_")}`;
  const store: StoreSpec =
    pgServer !== undefined
      ? { kind: "postgres", url: pgServer.url, schema }
      : { kind: "sqlite", path: join(env.dir, "store.db") };
  if (store.kind === "postgres")
    await pgQuery(store.url, `drop schema if exists "${schema}" cascade`);

  const leaseMs = spec.leaseMs ?? 3_000;
  const tasks: WorkTask[] = buildWorkload(env.tasks);
  const processes: NodeProcess[] = [];
  const restarts = new Map<string, number>();
  let registered = false;

  const startNode = (nodeSpec: NodeSpec): NodeProcess => {
    const n = (restarts.get(nodeSpec.nodeId) ?? 0) + 1;
    restarts.set(nodeSpec.nodeId, n);
    const config: NodeConfig = {
      nodeId: nodeSpec.nodeId,
      tag: n === 1 ? nodeSpec.nodeId : `${nodeSpec.nodeId}#${n}`,
      store,
      leaseMs,
      clockOffsetMs: nodeSpec.clockOffsetMs ?? 0,
      ...(registered ? { restart: true } : {}),
    };
    const node = new NodeProcess(config, sink, logDir);
    processes.push(node);
    return node;
  };

  try {
    env.log(`starting ${(spec.nodes ?? DEFAULT_NODES).length} nodes on ${store.kind}`);
    const first = (spec.nodes ?? DEFAULT_NODES).map(startNode);
    await within(Promise.all(first.map((p) => p.ready)), READY_TIMEOUT_MS, "nodes ready");

    const windowMs = spec.windowMs ?? (env.short ? 12_000 : 16_000);
    // Every node must have registered every task before the window opens: each task
    // is a store write and a notice to the other nodes (about 1.5 ms a task on 2 cores).
    const leadMs = 3_000 + 2 * tasks.length;
    const startAtMs = Math.ceil((Date.now() + leadMs) / 1000) * 1000 + 500;
    const window: ActiveWindow = { startAtMs, endAtMs: startAtMs + windowMs };
    const t0 = startAtMs + 500;
    registered = true;
    const registering = Date.now();
    for (const p of first) p.send({ type: "register", tasks, window });
    await within(Promise.all(first.map((p) => p.registered)), 30_000 + leadMs, "tasks registered");
    if (tasks.length > 100) env.log(`registered in ${Date.now() - registering} ms`);
    if (Date.now() > startAtMs - 200)
      notes.push(
        `registration ended ${startAtMs - Date.now()} ms before the window opened (a negative figure: after)`,
      );
    const slots = slotsOf(window);
    const windowText = `${slots.length} slots × ${tasks.length} tasks, ${clockTime(slots[0] as number)}–${clockTime(slots[slots.length - 1] as number)} UTC (startAt ${clockTime(startAtMs)}, endAt ${clockTime(window.endAtMs)})`;
    env.log(`window: ${windowText}`);

    const rel = (ms: number): string =>
      `t${ms >= t0 ? "+" : "-"}${(Math.abs(ms - t0) / 1000).toFixed(3)}s`;
    const ctx: ClusterContext = {
      env,
      store,
      pg: pgServer,
      window,
      t0,
      sink,
      processes,
      live: () => processes.filter((p) => p.alive),
      busiest: () =>
        processes.filter((p) => p.alive && !p.frozen).sort((a, b) => b.inFlight - a.inFlight)[0],
      startNode,
      at: (offsetMs) => sleepUntil(t0 + offsetMs),
      now: () => rel(Date.now()),
      note: (text) => {
        notes.push(`${rel(Date.now())} ${text}`);
        env.log(`${rel(Date.now())} ${text}`);
      },
      count: (invariant, n) => void (extra[invariant] = (extra[invariant] ?? 0) + n),
    };

    const injection = spec.inject(ctx).then(
      () => undefined,
      (error: unknown) => {
        notes.push(
          `the fault injection failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
    await sleepUntil(window.endAtMs);
    // A node restarted into a loaded cluster restores every task first: slower with more of them.
    await within(injection, 60_000 + 20 * tasks.length, "the fault injection to end");

    // Drain: every story ends (retries, reaped leases) before anything is stopped.
    const drainUntil = window.endAtMs + DRAIN_MAX_MS;
    await sleepUntil(window.endAtMs + DRAIN_MIN_MS);
    for (;;) {
      const held = await heldClaims(store);
      const busy = ctx.live().reduce((sum, p) => sum + p.inFlight, 0);
      if (held === 0 && busy === 0) break;
      if (Date.now() > drainUntil) {
        notes.push(
          `drain: still ${held ?? "?"} claims held and ${busy} callbacks running ${DRAIN_MAX_MS / 1000} s after endAt`,
        );
        break;
      }
      await sleep(250);
    }
    await Promise.all(ctx.live().map((p) => p.stop()));

    // Callbacks that started after their process's stop() had resolved.
    let afterStop = 0;
    const stoppedAt = new Map(processes.map((p) => [p.tag, p.stoppedAt]));
    for (const call of sink.calls.values()) {
      const stopped = stoppedAt.get(call.tag);
      if (stopped !== undefined && call.at > stopped) afterStop++;
    }
    if (afterStop > 0) extra.afterStop = afterStop;

    // The side-effect log, for a look after the run (--keep).
    writeFileSync(
      join(env.dir, "sink.jsonl"),
      [...sink.calls.values()].map((call) => JSON.stringify(call)).join("\n") + "\n",
    );
    const history = await readHistory(
      store.kind === "postgres"
        ? new PostgresStore({ connectionString: store.url, schema: store.schema })
        : new SqliteStore({ path: store.path }),
    );
    writeFileSync(
      join(env.dir, "history.jsonl"),
      history.map((row) => JSON.stringify({ ...row, error: row.error?.message })).join("\n") + "\n",
    );
    // SQLite has no clock of its own: the store's clock is the host's.
    const db =
      store.kind === "postgres"
        ? await measureDbOffset(store.url)
        : { offsetMs: 0, uncertaintyMs: 0 };
    const result = check({
      tasks,
      slots,
      history,
      calls: sink.calls.values(),
      refused: sink.refused,
      dbOffsetMs: db.offsetMs,
      dbUncertaintyMs: db.uncertaintyMs,
    });
    Object.assign(result.extra, extra);
    notes.push(...nodeNotes(processes, db));
    return { result, window: windowText, notes };
  } finally {
    await Promise.all(processes.filter((p) => p.alive).map((p) => p.kill()));
  }
}
