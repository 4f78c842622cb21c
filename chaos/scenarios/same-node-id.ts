import { setTimeout as sleep } from "node:timers/promises";
import { clusterScenario } from "../harness.js";

/**
 * Processes start with a node id already in use (a copied configuration, a
 * restart while the old process lingers): at t+1.5 s and t+4.5 s, another
 * process with node id n1 starts beside the live n1. A node id belongs to one
 * live process per store (a session advisory lock on PostgreSQL), so each
 * twin must be refused with NodeIdInUseError before it reaps, claims or
 * records anything; `twinStarted` counts twins that started all the same.
 * History and the sink then show whether anything was doubled.
 */
export default clusterScenario({
  name: "same-node-id",
  description: "PostgreSQL: two more processes with node id n1 start beside the live n1",
  store: "postgres",
  async inject(ctx) {
    const twins = [];
    for (const at of [1_500, 4_500]) {
      await ctx.at(at);
      const n1 = ctx.live().filter((p) => p.nodeId === "n1");
      const twin = ctx.startNode({ nodeId: "n1" });
      twins.push(twin);
      ctx.note(
        `started ${twin.tag} with node id n1 beside ${n1.map((p) => `${p.tag} (${p.inFlight} in flight)`).join(", ")}`,
      );
      void twin.ready.then(
        () => {
          ctx.note(`${twin.tag} started: it should have been refused`);
          ctx.count("twinStarted", 1);
        },
        // The refusal message may trail the exit by a moment.
        () =>
          void sleep(200).then(() => {
            if (twin.refusal !== undefined) ctx.note(`${twin.tag} refused: ${twin.refusal}`);
            else {
              ctx.note(`${twin.tag} exited (${twin.logFile}) without being refused`);
              ctx.count("twinCrashed", 1);
            }
          }),
      );
    }
    await Promise.all(twins.map((twin) => Promise.race([twin.ready, twin.exited]).catch(() => 0)));
    await sleep(300);
  },
});
