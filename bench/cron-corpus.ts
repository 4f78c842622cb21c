/** The corpus the peers were measured on (docs/benchmarks.md): 13 common expressions, then six with seconds or special forms. */
export const COMMON_EXPRESSIONS = [
  "* * * * *",
  "*/5 * * * *",
  "0 9 * * 1-5",
  "0 0 1 * *",
  "30 2 * * *",
  "0 0 29 2 *",
  "0 0 1 1 *",
  "0,15,30,45 8-18 * 1-6,9-12 1-5",
  "23 0-20/2 * * *",
  "5 4 * * 0",
  "0 0,12 1 */2 *",
  "0 4 8-14 * *",
  "0 0 1-7 * 1",
] as const;

export const SPECIAL_EXPRESSIONS = [
  "*/10 * * * * *",
  "0 30 9 * * 1",
  "0 0 * * 5#3",
  "0 0 L * *",
  "0 0 * * 5L",
  "0 0 15W * *",
] as const;

export const NEXT_CORPUS = [...COMMON_EXPRESSIONS, ...SPECIAL_EXPRESSIONS];

/** Chains start just before the 2026 US spring-forward. */
export const CHAIN_START_MS = Date.UTC(2026, 2, 7);
export const CHAIN_LENGTH = 1000;
