export { Scheduler } from "./scheduler.js";
export { SCHEDULER_DEFAULTS } from "./scheduler-options.js";
export type { SchedulerOptions } from "./scheduler-options.js";
export type { RunReport } from "../engine/run.js";
export type { RotationReport } from "../durable/durable-tasks.js";
