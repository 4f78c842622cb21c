import { clusterScenario } from "../harness.js";

/** No fault: the workload alone, to show that the checker finds nothing when nothing goes wrong. */
export default clusterScenario({
  name: "baseline",
  description: "no fault: three PostgreSQL nodes, the workload alone",
  store: "postgres",
  inject: async () => {},
});
