import type { DispatchOutcome } from "../core/dispatcher.js";
import { MAX_OUTPUT_BYTES } from "../store/store.js";

/**
 * The `output` of a history row: the callback's return value when it is a
 * plain JSON object, else the `details` of the error it threw (for example
 * `{ exitCode, stdout, stderr }` of a failed shell command), as JSON; undefined
 * when there is none. Text beyond {@link MAX_OUTPUT_BYTES} is cut: the longest
 * string fields keep their ends (where errors usually are) and the object gets
 * `truncated: true`.
 */
export function runOutput(outcome: DispatchOutcome): unknown {
  const source = outcome.ok
    ? outcome.value
    : (outcome.error as { details?: unknown } | null | undefined)?.details;
  if (source === undefined || source === null || typeof source !== "object") return undefined;
  const proto = Object.getPrototypeOf(source) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  let text: string;
  try {
    text = JSON.stringify(source);
  } catch {
    return undefined;
  }
  const json = JSON.parse(text) as Record<string, unknown>;
  return text.length <= MAX_OUTPUT_BYTES ? json : cap(json, text.length);
}

function cap(json: Record<string, unknown>, length: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...json, truncated: true };
  let size = length + 20;
  const strings = Object.keys(out)
    .filter((key) => typeof out[key] === "string")
    .sort((a, b) => (out[b] as string).length - (out[a] as string).length);
  for (const key of strings) {
    if (size <= MAX_OUTPUT_BYTES) break;
    const value = out[key] as string;
    const keep = Math.max(0, value.length - (size - MAX_OUTPUT_BYTES) - 64);
    out[key] = `…${value.slice(value.length - keep)}`;
    size -= value.length - keep;
  }
  if (JSON.stringify(out).length <= MAX_OUTPUT_BYTES) return out;
  return { truncated: true, bytes: length };
}
