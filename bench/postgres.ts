/**
 * PostgreSQL store: claimed-and-recorded runs per second (claimRun + recordRun
 * + releaseClaim) with 1, 2 and 4 nodes, each node a child process with its
 * own PostgresStore on one schema. "disjoint": every node claims its own keys;
 * "overlapping": every node tries every key, exactly one wins each (the others
 * get null and move on), which is what a cluster does on every due run.
 * Target: at least 5,000 runs/s with 2 nodes on the 2-core machine.
 *
 * Alone: `node --import tsx bench/postgres.ts` (BENCH_ROUNDS, BENCH_PG_URL, BENCH_PG_LOOPS,
 * BENCH_PG_DURATION_MS).
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { SystemClock } from "../src/time/clock.js";
import { formatRate, median, printTable } from "./report.js";

const PG_URL =
  process.env.BENCH_PG_URL ??
  process.env.ORCHESTRATOR_TEST_PG_URL ??
  "postgres://postgres@127.0.0.1:5432/test";
const NODE_COUNTS = [1, 2, 4] as const;
const MODES = ["disjoint", "overlapping"] as const;
const DURATION_MS = Number(process.env.BENCH_PG_DURATION_MS ?? 2000);
/**
 * Runs in flight per node: a node with hundreds of tasks due each second has
 * that many claims, records and releases outstanding, which the store combines.
 */
const LOOPS_PER_NODE = Number(process.env.BENCH_PG_LOOPS ?? 64);
const CONNECTIONS_PER_NODE = 8;

type Mode = (typeof MODES)[number];

interface RunCommand {
  readonly type: "run";
  readonly mode: Mode;
  readonly prefix: string;
  readonly node: number;
  readonly durationMs: number;
}

interface RunResult {
  readonly type: "result";
  readonly won: number;
  readonly attempts: number;
  readonly elapsedMs: number;
}

/** The body of one node process: opens the store, then runs what the parent asks. */
async function nodeMain(schema: string): Promise<void> {
  const store = new PostgresStore({
    connectionString: PG_URL,
    schema,
    maxConnections: CONNECTIONS_PER_NODE,
  });
  await store.open({ nodeId: `bench-${process.pid}`, clock: new SystemClock() });
  process.on("message", (message: RunCommand | { type: "exit" }) => {
    if (message.type === "exit") {
      void store.close().then(() => process.exit(0));
      return;
    }
    void hammer(store, message).then((result) => process.send?.(result));
  });
  process.send?.({ type: "ready" });
}

async function hammer(store: PostgresStore, command: RunCommand): Promise<RunResult> {
  const nodeId = `bench-node-${command.node}`;
  const base = Date.UTC(2030, 0, 1);
  let won = 0;
  let attempts = 0;
  const start = performance.now();
  const deadline = start + command.durationMs;
  const loop = async (worker: number): Promise<void> => {
    // Overlapping: every node walks the same keys; disjoint: each node has its own tasks.
    const taskName =
      command.mode === "overlapping"
        ? `${command.prefix}-w${worker}`
        : `${command.prefix}-n${command.node}-w${worker}`;
    for (let i = 0; performance.now() < deadline; i++) {
      const scheduledAt = base + i * 1000;
      attempts++;
      const claim = await store.claimRun({ taskName, scheduledAt, nodeId, leaseMs: 30_000 });
      if (claim === null) continue;
      const startedAt = Date.now();
      await store.recordRun({
        taskName,
        claimId: claim.id,
        scheduledAt,
        startedAt,
        finishedAt: startedAt,
        status: "succeeded",
        attempt: 1,
        nodeId,
        error: null,
      });
      await store.releaseClaim(claim);
      won++;
    }
  };
  await Promise.all(Array.from({ length: LOOPS_PER_NODE }, (_, w) => loop(w)));
  return { type: "result", won, attempts, elapsedMs: performance.now() - start };
}

function spawnNode(schema: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ["--bench-node", schema], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench node exited early (${code})`)));
    child.once("message", () => resolve(child));
  });
}

function runOn(child: ChildProcess, command: RunCommand): Promise<RunResult> {
  return new Promise((resolve) => {
    child.once("message", (message: RunResult) => resolve(message));
    child.send(command);
  });
}

/**
 * Runs the benchmark and prints a table: median claimed-and-recorded runs per
 * second over `rounds` rounds for each node count and key pattern, then checks
 * from the history that no (task, scheduled time) was recorded twice.
 */
export async function runPostgresBench(rounds: number): Promise<void> {
  console.log(
    `\n## PostgreSQL store: claimed-and-recorded runs/s (claim + record + release), ` +
      `${LOOPS_PER_NODE} loops and ${CONNECTIONS_PER_NODE} connections per node, ${DURATION_MS} ms x ${rounds} rounds\n`,
  );
  const schema = `orch_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  try {
    await admin.query("select 1");
  } catch (error) {
    console.log(`PostgreSQL not reachable at ${PG_URL}: skipped (${String(error)})`);
    await admin.end();
    return;
  }
  // Migrate once here, so the node processes start on a ready schema.
  const setup = new PostgresStore({ connectionString: PG_URL, schema });
  await setup.open({ nodeId: "bench-setup", clock: new SystemClock() });
  await setup.close();
  const children = await Promise.all(
    NODE_COUNTS.slice(-1).flatMap((n) => Array.from({ length: n }, () => spawnNode(schema))),
  );
  const rows: string[][] = [];
  try {
    // A discarded warm-up (JIT, connections, prepared statements), then rounds that
    // interleave every configuration, so that noise from other processes spreads evenly.
    await Promise.all(
      children.map((child, node) =>
        runOn(child, { type: "run", mode: "disjoint", prefix: "warm-up", node, durationMs: 500 }),
      ),
    );
    const rates = new Map<string, number[]>();
    const lostClaims = new Map<number, number>();
    for (let round = 0; round < rounds; round++) {
      for (const nodes of NODE_COUNTS) {
        for (const mode of MODES) {
          const prefix = `${mode}-${nodes}-${round}`;
          const results = await Promise.all(
            children
              .slice(0, nodes)
              .map((child, node) =>
                runOn(child, { type: "run", mode, prefix, node, durationMs: DURATION_MS }),
              ),
          );
          const won = results.reduce((sum, r) => sum + r.won, 0);
          const elapsed = Math.max(...results.map((r) => r.elapsedMs));
          const key = `${nodes}/${mode}`;
          rates.set(key, [...(rates.get(key) ?? []), (won / elapsed) * 1000]);
          if (mode === "overlapping") {
            const lost = results.reduce((sum, r) => sum + r.attempts - r.won, 0);
            lostClaims.set(nodes, (lostClaims.get(nodes) ?? 0) + lost / rounds);
          }
        }
      }
    }
    for (const nodes of NODE_COUNTS) {
      rows.push([
        `${nodes} node${nodes === 1 ? "" : "s"}`,
        ...MODES.map((mode) => formatRate(median(rates.get(`${nodes}/${mode}`) ?? []))),
        formatRate(lostClaims.get(nodes) ?? 0),
      ]);
    }
    printTable(["nodes", "disjoint keys", "overlapping keys", "lost claims/round"], rows);
    const duplicates = await admin.query<{ n: string }>(
      `select count(*) - count(distinct (task_name, scheduled_at)) as n from "${schema}".runs`,
    );
    const total = await admin.query<{ n: string }>(`select count(*) as n from "${schema}".runs`);
    console.log(
      `\n${total.rows[0]?.n} runs recorded; (task, scheduled time) recorded twice: ${duplicates.rows[0]?.n} (must be 0). Target: ≥ 5.0k/s with 2 nodes.`,
    );
  } finally {
    for (const child of children) child.send({ type: "exit" });
    await Promise.all(
      children.map((child) => new Promise((resolve) => child.once("exit", resolve))),
    );
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf("--bench-node");
  if (at >= 0) {
    await nodeMain(process.argv[at + 1] ?? "orchestrator");
  } else {
    await runPostgresBench(Number(process.env.BENCH_ROUNDS ?? 3));
  }
}
