/**
 * One library, one scenario, in its own process; prints one JSON line.
 *   node --expose-gc --import tsx bench/scheduling-worker.ts <library> register <count> <idleMs>
 *   node --expose-gc --import tsx bench/scheduling-worker.ts <library> burst <count>
 * `register`: <count> jobs "M * * * *" none of which falls due while measured;
 * reports µs and heap bytes per job and CPU use while idle.
 * `burst`: <count> jobs due in the same second; reports lateness and whether
 * each fired exactly once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SCHEDULING_LIBRARIES } from "./scheduling-libraries.js";

const [
  libraryName = "orchestrator",
  scenario = "register",
  countText = "10000",
  idleText = "3000",
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
  await sleep(2_000);
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

async function burst(): Promise<void> {
  // Everything is due at one whole second, far enough ahead to finish registering.
  const target = Math.ceil(wallNow() / 1000) * 1000 + 3000 + Math.ceil(count / 5000) * 1000;
  const d = new Date(target);
  const expression = `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
  const calls = new Uint32Array(count);
  const lateness = new Float64Array(count);
  const library = make!();
  for (let i = 0; i < count; i++) {
    library.register(`burst-${i}`, expression, () => {
      if (calls[i] === 0) lateness[i] = wallNow() - target;
      calls[i]!++;
    });
  }
  await library.start();
  const registeredBeforeTarget = wallNow() < target;
  await sleep(Math.max(0, target - wallNow()) + 2000);
  await library.stop();
  let fired = 0;
  let duplicates = 0;
  for (const n of calls) {
    if (n > 0) fired++;
    if (n > 1) duplicates++;
  }
  const sorted = Array.from(lateness.subarray(0, count))
    .filter((_, i) => calls[i]! > 0)
    .sort((a, b) => a - b);
  const pick = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  print({
    fired,
    duplicates,
    registeredBeforeTarget,
    p50: pick(0.5),
    p99: pick(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
  });
}

function print(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ library: libraryName, scenario, count, ...result }) + "\n");
}

await (scenario === "burst" ? burst() : register());
process.exit(0);
