/** Rolling SIGKILL aimed at the node holding the most runs, with or without a restart (shared by the PostgreSQL and SQLite scenarios). */
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterContext } from "../harness.js";

/**
 * Every 4 s from t+2.15 s (runs of the instant just started) until 3 s
 * before the window closes, SIGKILLs the live node with the most callbacks
 * in flight; with `restart`, starts it again (same node id) 1 s later, and
 * the next kill waits until it is up (a kill due meanwhile is skipped).
 * Without, at most `maxKills` nodes die, so that one is left.
 */
export function rollingKill(options: { restart: boolean; maxKills?: number }) {
  return async (ctx: ClusterContext): Promise<void> => {
    const windowMs = ctx.window.endAtMs - ctx.t0;
    let kills = 0;
    for (let at = 2_150; at < windowMs - 3_000; at += 4_000) {
      if (options.maxKills !== undefined && kills >= options.maxKills) break;
      // A kill whose time passed while a restarted node was coming up is skipped.
      if (Date.now() > ctx.t0 + at + 500) continue;
      await ctx.at(at);
      const victim = ctx.busiest();
      if (victim === undefined) continue;
      ctx.note(`SIGKILL ${victim.tag} (${victim.inFlight} callbacks in flight)`);
      await victim.kill();
      kills++;
      if (!options.restart) continue;
      await sleep(1_000);
      const again = ctx.startNode({ nodeId: victim.nodeId });
      ctx.note(`restarting node ${victim.nodeId} as ${again.tag}`);
      // Rolling: the next kill waits for this node to be back (a loaded machine may take
      // seconds to start one), so that the cluster is never down to no node at all.
      await again.ready.then(
        () => ctx.note(`${again.tag} started`),
        () => ctx.note(`${again.tag} did not start`),
      );
    }
  };
}
