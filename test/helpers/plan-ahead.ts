/**
 * The planning mode the scheduler's behavioural suites run in: `always`
 * (every instant through the planner), or `off` with TEST_PLAN_AHEAD=off.
 * scripts/run-tests.mjs runs those suites in both modes: planning ahead
 * changes when phase 1 happens, never what it decides.
 */
export const PLAN_AHEAD: "always" | "off" =
  process.env.TEST_PLAN_AHEAD === "off" ? "off" : "always";
