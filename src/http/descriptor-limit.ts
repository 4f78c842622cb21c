import { readFileSync } from "node:fs";

/** The descriptor limit assumed where it cannot be read (macOS's usual soft limit). */
export const FALLBACK_DESCRIPTOR_LIMIT = 256;

/**
 * The process's soft limit on open file descriptors (`ulimit -n`), read from
 * `/proc/self/limits` on Linux; {@link FALLBACK_DESCRIPTOR_LIMIT} elsewhere,
 * or when the limit is unlimited or unreadable.
 */
export function readDescriptorLimit(
  readLimits: () => string = () => readFileSync("/proc/self/limits", "utf8"),
): number {
  let text: string;
  try {
    text = readLimits();
  } catch {
    return FALLBACK_DESCRIPTOR_LIMIT;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  const limit = soft === undefined ? Number.NaN : Number(soft);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : FALLBACK_DESCRIPTOR_LIMIT;
}
