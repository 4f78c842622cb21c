import { parseScheduleText } from "../../src/cli/schedule-file.js";
import type { ScheduleFileError, ScheduleSpec } from "../../src/cli/schedule-spec.js";

/** A fixed "now" for schedule checks: 2026-01-01T00:00:00Z. */
export const NOW = (): number => Date.parse("2026-01-01T00:00:00Z");

/** The 1-based line and column of the `occurrence`-th (1-based) `needle` in `text`. */
export function positionOf(
  text: string,
  needle: string,
  occurrence = 1,
): { line: number; column: number } {
  let index = -1;
  for (let seen = 0; seen < occurrence; seen++) {
    index = text.indexOf(needle, index + 1);
    if (index === -1)
      throw new Error(`${JSON.stringify(needle)} occurs fewer than ${occurrence} times`);
  }
  const before = text.slice(0, index).split("\n");
  return { line: before.length, column: (before.at(-1) ?? "").length + 1 };
}

/** Parses schedule text that must be invalid and returns its errors as `line:column message`. */
export function errorsOf(
  text: string,
  file = "schedule.yaml",
  baseDir = "/nonexistent",
): ScheduleFileError[] {
  const result = parseScheduleText(text, { file, now: NOW, baseDir });
  if (result.ok) throw new Error("expected errors, but the schedule is valid");
  return [...result.errors];
}

/** Parses schedule text that must be valid. */
export function specOf(text: string, file = "schedule.yaml", baseDir = "/srv/app"): ScheduleSpec {
  const result = parseScheduleText(text, { file, now: NOW, baseDir, checkModules: false });
  if (!result.ok)
    throw new Error(result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join("\n"));
  return result.schedule;
}
