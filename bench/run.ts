/**
 * `npm run bench`: every benchmark, peers side by side in one run.
 * BENCH_ROUNDS (default 5) sets the rounds; BENCH_ONLY=cron,scheduling picks sections.
 */
import { runCronBench } from "./cron.js";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const only = new Set((process.env.BENCH_ONLY ?? "cron,scheduling,store").split(","));

console.log(`orchestrator benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
if (only.has("cron")) runCronBench(rounds);
