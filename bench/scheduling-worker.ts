/**
 * One library, one scenario, in its own process; prints one JSON line.
 *   node --expose-gc --import tsx bench/scheduling-worker.ts <library> register <count> <idleMs> [<idleDelayMs>]
 *   node --expose-gc --import tsx bench/scheduling-worker.ts <library> burst <count>
 * `register`: <count> jobs "M * * * *" none of which falls due while measured;
 * reports µs and heap bytes per job and CPU use while idle.
 * `burst`: <count> jobs due in the same second; reports lateness and whether
 * each fired exactly once.
 * `floor` (no library): the burst's measuring callbacks called in a plain
 * loop, cold then warm: the part of any library's lateness that is the
 * measurement itself.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SCHEDULING_LIBRARIES } from "./scheduling-libraries.js";

const [
  libraryName = "orchestrator",
  scenario = "register",
  countText = "10000",
  idleText = "3000",
  idleDelayText = "2000",
] = process.argv.slice(2);
const make = SCHEDULING_LIBRARIES[libraryName];
if (make === undefined) throw new Error(`unknown library ${libraryName}`);
const count = Number(countText);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const wallNow = (): number => performance.timeOrigin + performance.now();

async function register(): Promise<void> {
  // A minute at least 20 minutes away, so nothing fires while measuring.
  const minute = (new Date(wallNow()).getUTCMinutes() + 30) % 60;
  const expression = `${minute} * * * *`;
  const noop = (): void => {};
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const library = make!();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) library.register(`job-${i}`, expression, noop);
  await library.start();
  await new Promise((resolve) => setImmediate(resolve));
  const registerMs = performance.now() - t0;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const idleMs = Number(idleText);
  // Let the collector finish sweeping what registration left behind: idle means steady state.
  await sleep(Number(idleDelayText));
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(idleMs);
  const cpu = process.cpuUsage(cpu0);
  const idleCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - w0)) * 100;
  const timers = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
  await library.stop();
  print({
    registerUsPerJob: (registerMs * 1000) / count,
    registerMs,
    heapBytesPerJob: (heapAfter - heapBefore) / count,
    idleCpuPercent,
    timers,
  });
}

/** Lateness statistics of one burst: first call of each job minus the due second. */
function stats(calls: Uint32Array, lateness: Float64Array): Record<string, number> {
  let fired = 0;
  let duplicates = 0;
  for (const n of calls) {
    if (n > 0) fired++;
    if (n > 1) duplicates++;
  }
  const sorted = Array.from(lateness)
    .filter((_, i) => calls[i]! > 0)
    .sort((a, b) => a - b);
  const pick = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    fired,
    duplicates,
    p50: pick(0.5),
    p99: pick(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Two bursts, two seconds apart, each of <count> jobs on one 6-field cron
 * expression matching a single second: the first runs in a cold process, the
 * second once the library's code is warm (a long-running scheduler's state).
 */
async function burst(): Promise<void> {
  // Time to register both bursts' jobs first (10k: 4 s; at most 12 s, for 2M jobs).
  const first =
    Math.ceil(wallNow() / 1000) * 1000 + 3000 + Math.min(12, Math.ceil(count / 2500)) * 1000;
  // Two seconds apart, more for a million: the first burst's million runs must be
  // recorded before the second can be on time (its runs would be missed past their 1 s grace).
  const targets = [first, first + Math.max(2000, count / 100)];
  const library = make!();
  const rounds = targets.map((target) => {
    const d = new Date(target);
    const expression = `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
    const calls = new Uint32Array(count);
    const lateness = new Float64Array(count);
    return { target, expression, calls, lateness };
  });
  for (const [r, round] of rounds.entries()) {
    const { target, expression, calls, lateness } = round;
    // The due instant on performance.now()'s time line: one clock read per call.
    const targetPerf = target - performance.timeOrigin;
    for (let i = 0; i < count; i++) {
      library.register(`burst-${r}-${i}`, expression, () => {
        if (calls[i] === 0) lateness[i] = performance.now() - targetPerf;
        calls[i]!++;
      });
    }
  }
  await library.start();
  const registeredBeforeTarget = wallNow() < first;
  await sleep(Math.max(0, (targets[1] as number) - wallNow()) + 2000);
  await library.stop();
  const [cold, warm] = rounds.map((round) => stats(round.calls, round.lateness));
  print({ registeredBeforeTarget, cold, warm });
}

/** The burst's callbacks, without a scheduler: the lateness floor of the measurement. */
async function floor(): Promise<void> {
  const passes = [0, 1].map(() => {
    const calls = new Uint32Array(count);
    const lateness = new Float64Array(count);
    let targetPerf = 0;
    const callbacks = Array.from({ length: count }, (_, i) => () => {
      if (calls[i] === 0) lateness[i] = performance.now() - targetPerf;
      calls[i]!++;
    });
    return { calls, lateness, callbacks, start: (at: number) => (targetPerf = at) };
  });
  const results = [];
  for (const pass of passes) {
    await sleep(1_000);
    pass.start(performance.now());
    for (const callback of pass.callbacks) callback();
    results.push(stats(pass.calls, pass.lateness));
  }
  const [cold, warm] = results;
  print({ cold, warm });
}

function print(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ library: libraryName, scenario, count, ...result }) + "\n");
}

await (scenario === "burst" ? burst() : scenario === "floor" ? floor() : register());
process.exit(0);
