/** Small helpers shared by the benchmarks: medians, geometric means, aligned tables. */

export function median(values: readonly number[]): number {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function geometricMean(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length === 0) return NaN;
  return Math.exp(finite.reduce((sum, v) => sum + Math.log(v), 0) / finite.length);
}

/** 1234567 → "1.23M", 45678 → "45.7k". */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

export function formatRatio(ours: number, theirs: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return "—";
  return `${(ours / theirs).toFixed(2)}×`;
}

/** Prints rows as a Markdown table with padded columns. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
  );
  for (const row of rows) console.log(line(row));
}

/**
 * With BENCH_RAW=1, prints one section's per-round samples as a JSON line
 * (`raw <section> {...}`), so that two runs can be compared with their spread.
 */
export function printRaw(section: string, samples: unknown): void {
  if (process.env.BENCH_RAW === "1") console.log(`raw ${section} ${JSON.stringify(samples)}`);
}
