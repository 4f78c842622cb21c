import { clusterScenario } from "../harness.js";
import { SKEWED_NODES } from "./clock-skew.js";

/** The clock-skew scenario on one SQLite file, whose leases are on the nodes' own clocks. */
export default clusterScenario({
  name: "sqlite-clock-skew",
  description: "SQLite file, 3 nodes: n1's clock 3 s ahead, n2's 3 s behind, n3's true",
  store: "sqlite",
  nodes: SKEWED_NODES,
  inject: async () => {},
});
