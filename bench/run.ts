/**
 * `npm run bench`: every benchmark, peers side by side in one run.
 * BENCH_ROUNDS (default 5) sets the rounds; BENCH_ONLY=cron,scheduling,catchup,store,postgres,cluster,scale,dashboard picks sections.
 */
import { runCatchUpBench } from "./catch-up.js";
import { runClusterScaleBench } from "./cluster-scale.js";
import { runClusterBench } from "./cluster.js";
import { runCronBench } from "./cron.js";
import { runDashboardBench } from "./dashboard.js";
import { runPostgresBench } from "./postgres.js";
import { runSchedulingBench } from "./scheduling.js";
import { runStoreLatenessBench } from "./store-lateness.js";
import { runStoreBench } from "./store.js";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const only = new Set(
  (
    process.env.BENCH_ONLY ?? "cron,scheduling,catchup,store,postgres,cluster,scale,dashboard"
  ).split(","),
);

console.log(
  `orchestrator benchmarks — Node ${process.version}, ${new Date().toISOString()}, ${rounds} rounds; orchestrator from ${process.env.BENCH_SOURCE === "src" ? "src (tsx)" : "dist (the build)"}`,
);
if (only.has("cron")) runCronBench(rounds);
if (only.has("scheduling")) runSchedulingBench(rounds);
if (only.has("catchup")) runCatchUpBench(rounds);
if (only.has("store")) {
  await runStoreBench(rounds);
  await runStoreLatenessBench(rounds);
}
if (only.has("postgres")) await runPostgresBench(rounds);
if (only.has("cluster")) await runClusterBench(rounds);
if (only.has("scale")) await runClusterScaleBench();
if (only.has("dashboard")) await runDashboardBench(rounds);
