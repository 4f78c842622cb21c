// An example module handler for examples/schedule.yaml. The daemon runs it in
// a worker thread and calls the export named by the task's `module.export`
// with { taskName, scheduledAt, attempt, payload, signal, fencingToken }.
// Throwing (or rejecting) fails the run; a plain JSON object it returns is
// kept as the run's output in history (other return values are not).

/**
 * Logs one line about the daemon process: the fields listed in
 * `payload.include` (memory, uptime).
 * @param {{ taskName: string, scheduledAt: Date, attempt: number, payload?: { title?: string, include?: string[] } }} ctx
 */
export async function report(ctx) {
  const include = ctx.payload?.include ?? ["memory", "uptime"];
  const parts = [];
  if (include.includes("memory")) {
    parts.push(`rss ${(process.memoryUsage().rss / 1_048_576).toFixed(1)} MiB`);
  }
  if (include.includes("uptime")) {
    parts.push(`uptime ${Math.round(process.uptime())} s`);
  }
  const title = ctx.payload?.title ?? "Report";
  console.log(
    `[${ctx.taskName}] ${title} for ${ctx.scheduledAt.toISOString()}: ${parts.join(", ")}`,
  );
}
