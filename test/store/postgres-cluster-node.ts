/**
 * One "node" of the PostgreSQL cluster test (postgres-cluster.process.test.ts), run
 * as a child process: claims every (task, occurrence) it can with a few
 * concurrent loops, "runs" each claim it wins, and finishes it (history row
 * plus release, atomically). Tells the parent over IPC about each claim won.
 * Arguments: schema nodeId tasks occurrences leaseMs.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { PG_URL } from "../helpers/pg.js";

const [schema = "", nodeId = "", tasks = "0", occurrences = "0", leaseMs = "1000"] =
  process.argv.slice(2);
const BASE = Date.UTC(2030, 0, 1);
const LOOPS = 8;
// Each loop owns some tasks and walks their occurrences in time order, as a
// scheduler does: a store refuses a key at or before a task's last released
// occurrence, so a node that claimed occurrence n+1 must have tried n first.
const keysByLoop: { taskName: string; scheduledAt: number }[][] = Array.from(
  { length: LOOPS },
  () => [],
);
for (let o = 0; o < Number(occurrences); o++) {
  for (let t = 0; t < Number(tasks); t++) {
    keysByLoop[t % LOOPS]!.push({ taskName: `cluster-${t}`, scheduledAt: BASE + o * 1000 });
  }
}

const store = new PostgresStore({ connectionString: PG_URL, schema, maxConnections: 4 });
await store.open({ nodeId, clock: new SystemClock() });
async function loop(keys: readonly { taskName: string; scheduledAt: number }[]): Promise<void> {
  for (const key of keys) {
    const claim = await store.claimRun({ ...key, nodeId, leaseMs: Number(leaseMs) });
    if (claim === null) continue;
    process.send?.({ won: `${key.taskName}@${key.scheduledAt}` });
    const startedAt = Date.now();
    // The "callback": a few turns of the event loop, so that claims are in flight when the node is killed.
    for (let i = 0; i < 20; i++) await nextTurn();
    await store.finishRun(
      {
        ...key,
        claimId: claim.id,
        startedAt,
        finishedAt: Date.now(),
        status: "succeeded",
        attempt: 1,
        nodeId,
        error: null,
      },
      claim,
    );
  }
}
await Promise.all(keysByLoop.map(loop));
await store.close();
process.send?.({ done: true });
process.disconnect?.();
