import { setTimeout as sleep } from "node:timers/promises";
import { clusterScenario } from "../harness.js";

/**
 * `pg_terminate_backend` on every connection of every node, alternately as
 * claims go out (just before an instant, when runs are claimed ahead, and
 * just after it) and as the 300 ms handlers finish.
 */
export default clusterScenario({
  name: "pg-terminate",
  description: "pg_terminate_backend of every node connection during claims and during finishes",
  store: "postgres",
  async inject(ctx) {
    const pg = ctx.pg;
    if (pg === undefined) throw new Error("pg-terminate needs PostgreSQL");
    const windowMs = ctx.window.endAtMs - ctx.t0;
    const offsets = [-40, 310, 3, 320, -15, 305];
    let total = 0;
    let rounds = 0;
    for (let second = 2; second * 1000 < windowMs - 2_000; second += 2) {
      const offset = offsets[rounds % offsets.length] as number;
      await ctx.at(second * 1000 + offset);
      total += await pg.terminateBackends("chaos-").catch(() => 0);
      rounds++;
      // Cut the pools again while they reconnect.
      await sleep(60);
      total += await pg.terminateBackends("chaos-").catch(() => 0);
    }
    ctx.note(
      `${rounds} rounds, ${total} backends terminated (offsets from the instant: ${offsets.join(", ")} ms)`,
    );
  },
});
