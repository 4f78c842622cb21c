import { clusterScenario } from "../harness.js";
import { rollingKill } from "./rolling-kill.js";

/** Rolling SIGKILL of the node holding runs; each victim restarts 1 s later with its node id. */
export default clusterScenario({
  name: "kill-restart",
  description:
    "PostgreSQL, 3 nodes: rolling SIGKILL of the node holding the most runs, restarted 1 s later",
  short: true,
  store: "postgres",
  inject: rollingKill({ restart: true }),
});
