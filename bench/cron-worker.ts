/**
 * One library, one time-zone mode, in its own process: prints JSON with parse
 * throughput and next() throughput per corpus expression.
 * Usage: node --import tsx bench/cron-worker.ts <library> <none|UTC|zone>
 */
import { CHAIN_LENGTH, CHAIN_START_MS, COMMON_EXPRESSIONS, NEXT_CORPUS } from "./cron-corpus.js";
import { LIBRARIES } from "./cron-libraries.js";

const [libraryName = "orchestrator", mode = "none"] = process.argv.slice(2);
const library = LIBRARIES[libraryName];
if (!library) throw new Error(`unknown library ${libraryName}`);
const timezone = mode === "none" ? undefined : mode;
const MEASURE_MS = 100;

function rate(work: () => number): number {
  // Warm up, then count operations over a fixed wall-clock window.
  const warmEnd = performance.now() + MEASURE_MS / 2;
  while (performance.now() < warmEnd) work();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MEASURE_MS) {
    ops += work();
    now = performance.now();
  }
  return (ops / (now - start)) * 1000;
}

const parseRate = rate(() => {
  for (const expression of COMMON_EXPRESSIONS) library.parse(expression, timezone);
  return COMMON_EXPRESSIONS.length;
});

const next: Record<string, number | null> = {};
for (const expression of NEXT_CORPUS) {
  try {
    library.chain(expression, timezone, CHAIN_START_MS, 1);
    next[expression] = rate(() => {
      library.chain(expression, timezone, CHAIN_START_MS, CHAIN_LENGTH);
      return CHAIN_LENGTH;
    });
  } catch {
    next[expression] = null; // not supported by this library
  }
}
process.stdout.write(JSON.stringify({ library: libraryName, mode, parseRate, next }) + "\n");
