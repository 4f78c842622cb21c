import type { ParsedCron } from "./parse.js";

/** Plain-English description of a parsed expression. (Placeholder wording: replaced by the full describer.) */
export function describeCron(parsed: ParsedCron): string {
  return parsed.expanded;
}
