import { clusterScenario, type NodeSpec } from "../harness.js";

/** n1 three seconds ahead, n2 three seconds behind, n3 true (also used by sqlite-clock-skew). */
export const SKEWED_NODES: readonly NodeSpec[] = [
  { nodeId: "n1", clockOffsetMs: 3_000 },
  { nodeId: "n2", clockOffsetMs: -3_000 },
  { nodeId: "n3" },
];

/** One node's clock 3 s ahead and one 3 s behind the database's. */
export default clusterScenario({
  name: "clock-skew",
  description: "PostgreSQL, 3 nodes: n1's clock 3 s ahead, n2's 3 s behind, n3's true",
  store: "postgres",
  nodes: SKEWED_NODES,
  inject: async () => {},
});
