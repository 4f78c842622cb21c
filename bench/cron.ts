/**
 * Cron engine benchmark: orchestrator against croner, cron-parser and
 * cron-schedule, each library in its own process, libraries alternated,
 * medians over rounds. Prints throughput and orchestrator's ratio to each peer.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NEXT_CORPUS } from "./cron-corpus.js";
import { formatRate, formatRatio, geometricMean, median, printRaw, printTable } from "./report.js";

interface WorkerResult {
  library: string;
  mode: string;
  parseRate: number;
  next: Record<string, number | null>;
}

const LIBS = ["orchestrator", "croner", "cron-parser", "cron-schedule"] as const;
const NY = "America/New_York";
const worker = fileURLToPath(new URL("./cron-worker.ts", import.meta.url));

function runWorker(library: string, mode: string, processZone: string): WorkerResult {
  const out = execFileSync(process.execPath, ["--import", "tsx", worker, library, mode], {
    env: { ...process.env, TZ: processZone },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!) as WorkerResult;
}

function nextRate(result: WorkerResult): { rate: number; supported: number } {
  const rates = NEXT_CORPUS.map((e) => result.next[e]).filter(
    (r): r is number => typeof r === "number",
  );
  return { rate: geometricMean(rates), supported: rates.length };
}

export function runCronBench(rounds: number): void {
  // Each configuration: [row label, mode (timezone option), process TZ].
  const configs = [
    ["process in UTC, no option", "none", "UTC"],
    ['option timezone "UTC"', "UTC", "UTC"],
    [`option timezone "${NY}"`, NY, "UTC"],
  ] as const;
  const parse: Record<string, number[]> = {};
  const next: Record<string, Record<string, number[]>> = {};
  const supported: Record<string, number> = {};
  const nyProcess: number[] = [];
  /** orchestrator's nextMs (epoch ms in and out, no Date), per configuration. */
  const nextMs: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...LIBS] : [...LIBS].reverse();
    for (const [label, mode, tz] of configs) {
      for (const lib of order) {
        const result = runWorker(lib, mode, tz);
        if (mode === "none") (parse[lib] ??= []).push(result.parseRate);
        const { rate, supported: count } = nextRate(result);
        ((next[label] ??= {})[lib] ??= []).push(rate);
        supported[lib] = count;
      }
      (nextMs[label] ??= []).push(nextRate(runWorker("orchestrator-nextMs", mode, tz)).rate);
    }
    // cron-schedule has no zone option: its New York figure needs a New York process.
    nyProcess.push(nextRate(runWorker("cron-schedule", "none", NY)).rate);
    process.stderr.write(`cron bench: round ${round + 1}/${rounds} done\n`);
  }

  printRaw("cron", { parse, next, nextMs });
  const peers = LIBS.filter((l) => l !== "orchestrator");
  const header = ["measure", ...LIBS, ...peers.map((p) => `vs ${p}`)];
  const row = (label: string, values: Record<string, number>): string[] => [
    label,
    ...LIBS.map((l) => formatRate(values[l] ?? NaN)),
    ...peers.map((p) => formatRatio(values.orchestrator ?? NaN, values[p] ?? NaN)),
  ];
  const medians = (m: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
  const rows = [row("parse (13 common expressions), expr/s", medians(parse))];
  for (const [label] of configs) {
    const values = medians(next[label] ?? {});
    if (label.includes(NY)) values["cron-schedule"] = median(nyProcess);
    rows.push(row(`next() ×1000 chains, ${label}, /s`, values));
    // Peers have no Date-free next(): their columns repeat their next().
    rows.push(
      row(`orchestrator nextMs() (no Date) ×1000 chains, ${label}, /s`, {
        ...values,
        orchestrator: median(nextMs[label] ?? []),
      }),
    );
  }
  console.log(
    `\n## Cron engine (${rounds} rounds, medians; ratios are orchestrator ÷ peer, above 1× is faster)\n`,
  );
  printTable(header, rows);
  console.log(
    `\nnext() is the geometric mean over the ${NEXT_CORPUS.length}-expression corpus of bench/cron-corpus.ts; expressions a library rejects are left out ` +
      `(${LIBS.map((l) => `${l}: ${supported[l] ?? 0}`).join(", ")}).` +
      `\ncron-schedule has no time-zone option: its "${NY}" figure comes from a process run with TZ=${NY}, and it misreads 5#3, 5L and 15W as plain values.`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCronBench(Number(process.env.BENCH_ROUNDS ?? 5));
}
