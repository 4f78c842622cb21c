import { open } from "node:fs/promises";
import type { ScheduleFileError } from "./schedule-spec.js";

/** The default largest schedule file, in bytes: 10 MiB. */
export const DEFAULT_MAX_SCHEDULE_BYTES = 10 * 1024 * 1024;

const MIB = 1024 * 1024;
const CHUNK_BYTES = MIB;

/** What {@link readScheduleText} gives: the text, or why there is none (an error at 1:1). */
export type ScheduleText =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly error: ScheduleFileError };

function failure(file: string, message: string): ScheduleText {
  return { ok: false, error: { file, line: 1, column: 1, message, path: [] } };
}

function tooLarge(file: string, size: number | string, maxBytes: number): ScheduleText {
  return failure(
    file,
    `the schedule file is ${size} bytes, more than the ${maxBytes} bytes allowed${maxBytes % MIB === 0 ? ` (${maxBytes / MIB} MiB)` : ""}: split it, or move large payloads out of it`,
  );
}

/**
 * Reads a schedule file as UTF-8, refusing one larger than `maxBytes` from its
 * size before reading it, and again while reading (it may grow meanwhile), so
 * that little more than `maxBytes` is ever held.
 */
export async function readScheduleText(file: string, maxBytes: number): Promise<ScheduleText> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    return failure(file, `cannot read the schedule file: ${(error as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return failure(file, "cannot read the schedule file: it is not a file");
    if (stat.size > maxBytes) return tooLarge(file, stat.size, maxBytes);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, maxBytes + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, length);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) return tooLarge(file, `more than ${maxBytes}`, maxBytes);
    }
    return { ok: true, text: Buffer.concat(chunks, length).toString("utf8") };
  } catch (error) {
    return failure(file, `cannot read the schedule file: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}
