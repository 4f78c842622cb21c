/**
 * The Scheduler in a few lines: `node --import tsx examples/scheduler.ts`.
 * Runs a cron task every second, an interval task and a one-time task for
 * about three seconds, then stops (stop() waits for running callbacks).
 */
import { Dispatcher, Scheduler } from "../src/index.js";

const dispatcher = new Dispatcher();
const scheduler = new Scheduler(dispatcher, { timezone: "UTC" });

scheduler.on("run:success", (run) => {
  console.log(
    `${run.taskName} ran for ${run.scheduledAt.toISOString()} in ${run.durationMs.toFixed(1)} ms`,
  );
});
scheduler.on("run:error", (run) => {
  console.log(`${run.taskName} failed (${String(run.error)}), retry: ${run.willRetry}`);
});

await scheduler.registerTask("every-second", "* * * * * *", (ctx) => {
  console.log(`tick, attempt ${ctx.attempt}`);
});
await scheduler.registerTask("half-second", { every: "500ms" }, () => {}, { overlap: "skip" });
await scheduler.registerTask(
  "once",
  new Date(Date.now() + 1_500),
  async (ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(`one-time task with payload ${JSON.stringify(ctx.payload)}`);
  },
  { payload: { hello: "world" } },
);
await scheduler.registerTask(
  "flaky",
  { every: "1s" },
  () => {
    throw new Error("contained: logged, emitted, never thrown out of the scheduler");
  },
  { retries: { attempts: 1, backoffMs: 200 } },
);

await scheduler.start();
await new Promise((resolve) => setTimeout(resolve, 3_000));
await scheduler.stop();
await dispatcher.close();
console.table(
  scheduler.listTasks().map(({ name, state, runCount, lastStatus, nextRun }) => ({
    name,
    state,
    runCount,
    lastStatus,
    nextRun,
  })),
);
