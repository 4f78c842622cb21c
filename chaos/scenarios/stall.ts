import { clusterScenario } from "../harness.js";

/**
 * SIGSTOP of the node holding the most runs for longer than its lease (3 s),
 * then SIGCONT: its leases expire, another node reaps and retries its runs,
 * and then it wakes up with its callbacks' timers due and its results late.
 */
export default clusterScenario({
  name: "stall",
  description:
    "PostgreSQL, 3 nodes: SIGSTOP of the node holding runs for 5 s (lease 3 s), then SIGCONT; twice",
  short: true,
  store: "postgres",
  async inject(ctx) {
    const windowMs = ctx.window.endAtMs - ctx.t0;
    for (let at = 1_350; at + 5_000 < windowMs - 1_000; at += 6_500) {
      await ctx.at(at);
      const victim = ctx.busiest();
      if (victim === undefined) continue;
      ctx.note(`SIGSTOP ${victim.tag} (${victim.inFlight} callbacks in flight)`);
      victim.freeze();
      await ctx.at(at + 5_000);
      victim.thaw();
      ctx.note(`SIGCONT ${victim.tag}`);
    }
  },
});
