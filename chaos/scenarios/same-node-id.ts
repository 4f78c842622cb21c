import { clusterScenario } from "../harness.js";

/**
 * Processes start with a node id already in use (a copied configuration, a
 * restart while the old process lingers): at t+1.5 s and t+7.5 s, another
 * process with node id n1 starts beside the live n1 (and the first twin).
 * When the store opens, a node reaps every unreleased claim of its node id,
 * as if they were a crashed predecessor's.
 */
export default clusterScenario({
  name: "same-node-id",
  description: "PostgreSQL: two more processes with node id n1 start beside the live n1",
  store: "postgres",
  async inject(ctx) {
    for (const at of [1_500, 7_500]) {
      await ctx.at(at);
      const n1 = ctx.live().filter((p) => p.nodeId === "n1");
      const twin = ctx.startNode({ nodeId: "n1" });
      ctx.note(
        `started ${twin.tag} with node id n1 beside ${n1.map((p) => `${p.tag} (${p.inFlight} in flight)`).join(", ")}`,
      );
      void twin.ready.then(
        () => ctx.note(`${twin.tag} started`),
        () => ctx.note(`${twin.tag} did not start`),
      );
    }
  },
});
