/**
 * Store benchmark: durable registrations (putTask) and claims (claimRun +
 * recordRun + releaseClaim, the store work of one run) per second, MemoryStore
 * and SqliteStore (a temp file, WAL, synchronous=NORMAL) side by side; medians
 * over rounds, a fresh store per round. Run alone: `node --import tsx bench/store.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MemoryStore } from "../src/store/memory-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store, TaskRecord } from "../src/store/store.js";
import { ManualClock } from "../src/time/clock.js";
import { formatRate, formatRatio, median, printRaw, printTable } from "./report.js";

interface StoreCase {
  readonly name: string;
  /** Operations per measurement: enough for a stable rate, small enough to stay quick. */
  readonly ops: number;
  make(): { store: Store; cleanup: () => void };
}

const CASES: readonly StoreCase[] = [
  {
    name: "memory",
    ops: 50_000,
    make: () => ({ store: new MemoryStore({ maxHistoryRows: 100_000 }), cleanup: () => {} }),
  },
  {
    name: "sqlite",
    ops: 5_000,
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), "orchestrator-bench-"));
      return {
        store: new SqliteStore({ path: join(dir, "bench.db") }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

function record(name: string, nowMs: number): TaskRecord {
  const bytes = new Uint8Array(96).fill(7); // about the size of a sealed handler record
  return {
    name,
    schedule: { kind: "cron", expression: "* * * * * *", timezone: "UTC" },
    options: {
      timezone: null,
      overlap: "skip",
      misfire: "run-once",
      misfireGraceMs: 1000,
      maxCatchUpRuns: 100,
      timeoutMs: 0,
      retries: { attempts: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 300_000 },
      startAtMs: null,
      endAtMs: null,
      maxRuns: null,
      jitterMs: 0,
      dayMatch: null,
      dst: null,
    },
    callback: { encoding: "sealed", keyId: "bench", bytes },
    state: "active",
    nextRunAt: nowMs + 1000,
    lastRunAt: null,
    lastStatus: null,
    runCount: 0,
    createdAt: nowMs,
    version: 1,
  };
}

async function registrationsPerSecond(store: Store, ops: number, nowMs: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < ops; i++) await store.putTask(record(`task-${i}`, nowMs), { replace: false });
  return ops / ((performance.now() - start) / 1000);
}

async function claimsPerSecond(store: Store, ops: number, nowMs: number): Promise<number> {
  const tasks = 100;
  const start = performance.now();
  for (let i = 0; i < ops; i++) {
    const taskName = `task-${i % tasks}`;
    const scheduledAt = nowMs + Math.floor(i / tasks) * 1000;
    const claim = await store.claimRun({ taskName, scheduledAt, nodeId: "bench", leaseMs: 30_000 });
    if (claim === null) throw new Error(`lost the uncontended claim ${taskName}@${scheduledAt}`);
    await store.recordRun({
      taskName,
      claimId: claim.id,
      scheduledAt,
      startedAt: scheduledAt,
      finishedAt: scheduledAt + 1,
      status: "succeeded",
      attempt: 1,
      nodeId: "bench",
      error: null,
    });
    await store.releaseClaim(claim);
  }
  return ops / ((performance.now() - start) / 1000);
}

/** Claims as the scheduler makes them when many runs are due at once: `batch` calls per tick. */
async function concurrentClaimsPerSecond(
  store: Store,
  ops: number,
  nowMs: number,
  batch = 100,
): Promise<number> {
  const start = performance.now();
  for (let first = 0; first < ops; first += batch) {
    const keys = Array.from({ length: Math.min(batch, ops - first) }, (_, j) => ({
      taskName: `task-${j}`,
      scheduledAt: nowMs + (first / batch) * 1000,
    }));
    const claims = await Promise.all(
      keys.map((key) => store.claimRun({ ...key, nodeId: "bench", leaseMs: 30_000 })),
    );
    await Promise.all(
      claims.map((claim) => {
        if (claim === null) throw new Error("lost an uncontended claim");
        return store.recordRun({
          taskName: claim.taskName,
          claimId: claim.id,
          scheduledAt: claim.scheduledAt,
          startedAt: claim.scheduledAt,
          finishedAt: claim.scheduledAt + 1,
          status: "succeeded",
          attempt: 1,
          nodeId: "bench",
          error: null,
        });
      }),
    );
    await Promise.all(claims.map((claim) => store.releaseClaim(claim!)));
  }
  return ops / ((performance.now() - start) / 1000);
}

/** Runs `rounds` rounds and prints one table; returns the medians by store and metric. */
export async function runStoreBench(
  rounds: number,
): Promise<Record<string, { registrations: number; claims: number; concurrentClaims: number }>> {
  const samples = new Map(
    CASES.map((c) => [
      c.name,
      { registrations: [] as number[], claims: [] as number[], concurrentClaims: [] as number[] },
    ]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const storeCase of CASES) {
      const { store, cleanup } = storeCase.make();
      const clock = new ManualClock("2030-01-01T00:00:00Z");
      try {
        await store.open({ nodeId: "bench", clock });
        const sample = samples.get(storeCase.name)!;
        sample.registrations.push(
          await registrationsPerSecond(store, storeCase.ops, clock.nowMs()),
        );
        sample.claims.push(await claimsPerSecond(store, storeCase.ops, clock.nowMs()));
        // Later scheduled times than the sequential claims took, so none is refused.
        const later = clock.nowMs() + 1_000_000_000;
        sample.concurrentClaims.push(await concurrentClaimsPerSecond(store, storeCase.ops, later));
      } finally {
        await store.close();
        cleanup();
      }
    }
  }
  const result: Record<
    string,
    { registrations: number; claims: number; concurrentClaims: number }
  > = {};
  for (const [name, sample] of samples) {
    result[name] = {
      registrations: median(sample.registrations),
      claims: median(sample.claims),
      concurrentClaims: median(sample.concurrentClaims),
    };
  }
  printRaw("store", Object.fromEntries(samples));
  const memory = result.memory!;
  const sqlite = result.sqlite!;
  console.log(`\nStore: operations per second, median of ${rounds} round(s)`);
  printTable(
    ["metric", "memory", "sqlite", "sqlite / memory"],
    [
      [
        "registrations (putTask; durable in sqlite)",
        formatRate(memory.registrations),
        formatRate(sqlite.registrations),
        formatRatio(sqlite.registrations, memory.registrations),
      ],
      [
        "claims (claimRun + recordRun + releaseClaim)",
        formatRate(memory.claims),
        formatRate(sqlite.claims),
        formatRatio(sqlite.claims, memory.claims),
      ],
      [
        "claims, 100 per tick (group commit in sqlite)",
        formatRate(memory.concurrentClaims),
        formatRate(sqlite.concurrentClaims),
        formatRatio(sqlite.concurrentClaims, memory.concurrentClaims),
      ],
    ],
  );
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runStoreBench(Number(process.env.BENCH_ROUNDS ?? 5));
}
