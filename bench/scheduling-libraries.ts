/**
 * How each library under comparison registers a cron job and shuts down.
 * Used by bench/scheduling-worker.ts, one library per process.
 */
import { createWriteStream } from "node:fs";
import { Cron } from "croner";
import nodeCron from "node-cron";
import { CronJob, Task, ToadScheduler } from "toad-scheduler";
import { ours } from "./ours.js";

const {
  createConsoleLogger,
  logRuns,
  schedulerLogger,
  Dispatcher,
  EventStream,
  createSchedulerMetrics,
  silentLogger,
  Scheduler,
} = ours;

/** One library: `register` adds a job (sync where the library allows), `start` begins timing, `stop` ends it. */
export interface SchedulingLibrary {
  register(name: string, expression: string, callback: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * orchestrator set up as the daemon sets it up: every run logged (JSON lines to
 * /dev/null through a stream, as the daemon writes its standard output, each
 * turn's lines formatted and written after it), the
 * Prometheus metrics and the dashboard's live event stream (no client connected)
 * listening to every run.
 */
function daemonShaped(): SchedulingLibrary {
  const out = createWriteStream("/dev/null");
  const logger = createConsoleLogger({
    format: "json",
    color: false,
    write: (line) => void out.write(line),
    now: Date.now,
    deferred: true,
  });
  const scheduler = new Scheduler(new Dispatcher(), {
    timezone: "UTC",
    logger: schedulerLogger(logger),
  });
  logRuns(scheduler, logger);
  createSchedulerMetrics(scheduler, { defaultMetrics: false });
  const events = new EventStream(scheduler);
  return {
    register: (name, expression, callback) =>
      void scheduler.registerTask(name, expression, callback),
    start: () => scheduler.start(),
    stop: async () => {
      events.close();
      await scheduler.stop();
      logger.flush();
      out.end();
    },
  };
}

export const SCHEDULING_LIBRARIES: Record<string, () => SchedulingLibrary> = {
  "orchestrator-daemon": daemonShaped,
  orchestrator: () => {
    const scheduler = new Scheduler(new Dispatcher(), { timezone: "UTC", logger: silentLogger });
    return {
      register: (name, expression, callback) =>
        void scheduler.registerTask(name, expression, callback),
      start: () => scheduler.start(),
      stop: () => scheduler.stop(),
    };
  },
  croner: () => {
    const jobs: Cron[] = [];
    return {
      register: (name, expression, callback) =>
        void jobs.push(new Cron(expression, { timezone: "UTC", name }, callback)),
      start: () => Promise.resolve(),
      stop: () => {
        for (const job of jobs) job.stop();
        return Promise.resolve();
      },
    };
  },
  "node-cron": () => {
    const tasks: { stop(): unknown }[] = [];
    return {
      register: (name, expression, callback) =>
        void tasks.push(nodeCron.schedule(expression, callback, { name, timezone: "UTC" })),
      start: () => Promise.resolve(),
      stop: async () => {
        for (const task of tasks) await task.stop();
      },
    };
  },
  "toad-scheduler": () => {
    const scheduler = new ToadScheduler();
    return {
      register: (name, expression, callback) =>
        scheduler.addCronJob(
          new CronJob({ cronExpression: expression, timezone: "UTC" }, new Task(name, callback), {
            id: name,
          }),
        ),
      start: () => Promise.resolve(),
      stop: () => {
        scheduler.stop();
        return Promise.resolve();
      },
    };
  },
};
