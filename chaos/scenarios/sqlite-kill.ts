import { clusterScenario } from "../harness.js";
import { rollingKill } from "./rolling-kill.js";

/** The rolling SIGKILL of kill-restart, on one SQLite file shared by the nodes. */
export default clusterScenario({
  name: "sqlite-kill",
  description:
    "SQLite file, 3 nodes: rolling SIGKILL of the node holding the most runs, restarted 1 s later",
  store: "sqlite",
  inject: rollingKill({ restart: true }),
});
