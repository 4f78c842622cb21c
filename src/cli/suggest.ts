/**
 * Edit distance between two short strings (keys, option values): insertions,
 * deletions, substitutions and swaps of adjacent characters each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, index) => index)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const above = rows[i - 1] ?? [];
      let best = Math.min(
        (above[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (above[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}

/**
 * The candidate closest to `input`, if it is close enough to be a likely typo:
 * at most a third of the input's length in edits (at least 1, at most 3),
 * ignoring case and a candidate's `Ms` suffix; or a candidate that starts with
 * all of the input but its last character.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const budget = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    // `timeout` for `timeoutMs` is the likeliest slip of all: compare without the unit too.
    const lower = input.toLowerCase();
    const target = candidate.toLowerCase();
    // A cut-short word (`retry` for `retries`) counts as one edit.
    const truncated = lower.length >= 4 && target.startsWith(lower.slice(0, -1)) ? 1 : Infinity;
    const distance = Math.min(
      truncated,
      editDistance(lower, target),
      editDistance(lower, target.replace(/ms$/, "")),
    );
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= budget ? best : undefined;
}
