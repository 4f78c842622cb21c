import { clusterScenario } from "../harness.js";
import { rollingKill } from "./rolling-kill.js";

/** Rolling SIGKILL of the node holding runs, never restarted: the others must reap and retry. */
export default clusterScenario({
  name: "kill-no-restart",
  description: "PostgreSQL, 4 nodes: SIGKILL of the node holding the most runs, twice, no restart",
  store: "postgres",
  nodes: [{ nodeId: "n1" }, { nodeId: "n2" }, { nodeId: "n3" }, { nodeId: "n4" }],
  inject: rollingKill({ restart: false, maxKills: 2 }),
});
