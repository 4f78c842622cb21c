import { setTimeout as sleep } from "node:timers/promises";
import { clusterScenario } from "../harness.js";

/**
 * `scheduler.stop()` on the node holding the most runs, timed as claims are
 * in flight: 40 ms and 15 ms before an instant (runs claimed ahead and
 * planned) and 2 ms after it; the node restarts once it has exited. A
 * callback that starts after `stop()` resolved counts as `afterStop`.
 */
export default clusterScenario({
  name: "stop-in-flight",
  description: "PostgreSQL, 3 nodes: stop() while claims are in flight, then restart; three times",
  store: "postgres",
  async inject(ctx) {
    const windowMs = ctx.window.endAtMs - ctx.t0;
    const offsets = [-40, 2, -15];
    let round = 0;
    for (let second = 2; second * 1000 < windowMs - 3_000 && round < offsets.length; second += 4) {
      await ctx.at(second * 1000 + (offsets[round] as number));
      round++;
      const victim = ctx.busiest();
      if (victim === undefined) continue;
      ctx.note(`stop() on ${victim.tag} (${victim.inFlight} callbacks in flight)`);
      // The node lingers 1.5 s after stop() resolved: callbacks started then are counted.
      await victim.stop(1_500);
      await sleep(200);
      const again = ctx.startNode({ nodeId: victim.nodeId });
      ctx.note(`${victim.tag} exited; restarting as ${again.tag}`);
    }
  },
});
