/** The sources of what bench/ours.ts loads, and the shape it gives (from dist/ by default). */
export { createConsoleLogger } from "../src/cli/console-logger.js";
export { logRuns, schedulerLogger } from "../src/cli/run-logging.js";
export { Dispatcher } from "../src/core/dispatcher.js";
export { parseCron } from "../src/cron/index.js";
export { EventStream } from "../src/http/event-stream.js";
export { createSchedulerMetrics } from "../src/http/metrics.js";
export { silentLogger } from "../src/logger.js";
export { Scheduler } from "../src/scheduler/index.js";
