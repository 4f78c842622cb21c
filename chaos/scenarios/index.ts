/** Every scenario of the suite, in the order they run. */
import type { Scenario } from "../harness.js";
import baseline from "./baseline.js";
import clockSkew from "./clock-skew.js";
import cpuHog from "./cpu-hog.js";
import daemonKill from "./daemon-kill.js";
import killNoRestart from "./kill-no-restart.js";
import killRestart from "./kill-restart.js";
import pgRestart from "./pg-restart.js";
import pgTerminate from "./pg-terminate.js";
import sameNodeId from "./same-node-id.js";
import sqliteClockSkew from "./sqlite-clock-skew.js";
import sqliteKill from "./sqlite-kill.js";
import sqliteLock from "./sqlite-lock.js";
import stall from "./stall.js";
import stopInFlight from "./stop-in-flight.js";

export const SCENARIOS: readonly Scenario[] = [
  baseline,
  killRestart,
  killNoRestart,
  stall,
  pgRestart,
  pgTerminate,
  clockSkew,
  cpuHog,
  sameNodeId,
  stopInFlight,
  sqliteKill,
  sqliteLock,
  sqliteClockSkew,
  daemonKill,
];
