import { serializeError, type Logger } from "../logger.js";

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** `pretty` for people (the default), `json` for machines (one object per line, pino's shape). */
  readonly format: "pretty" | "json";
  /** Colour the level; only for a terminal. */
  readonly color: boolean;
  readonly write: (line: string) => void;
  /** Epoch ms for each line's time. */
  readonly now: () => number;
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const;
const COLORS = { info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" } as const;

function fieldText(value: unknown): string {
  const v = serializeError(value);
  if (typeof v === "string") return /\s|"/.test(v) ? JSON.stringify(v) : v;
  if (v && typeof v === "object" && "message" in v) return JSON.stringify(v.message);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Keys of a JSON line that a field of the same name replaces. */
const LINE_KEYS = new Set(["level", "time", "msg"]);

/**
 * One JSON line, pino's shape: level, time, msg, then the fields (errors
 * serialized, undefined ones left out). Written field by field, not through
 * an object per line: the daemon writes two lines per run.
 */
function jsonLine(level: number, time: number, msg: string, obj: Record<string, unknown>): string {
  let text = `{"level":${level},"time":${JSON.stringify(time)},"msg":${JSON.stringify(msg)}`;
  try {
    for (const key of Object.keys(obj)) {
      if (LINE_KEYS.has(key))
        return `${JSON.stringify({ level, time, msg, ...serializeFields(obj) })}\n`;
      const value = JSON.stringify(serializeError(obj[key]));
      if (value !== undefined) text += `,${JSON.stringify(key)}:${value}`;
    }
  } catch {
    // A field that cannot be written (a cycle, a BigInt): the line without fields.
    return `${JSON.stringify({ level, time, msg })}\n`;
  }
  return `${text}}\n`;
}

function serializeFields(obj: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) fields[key] = serializeError(value);
  return fields;
}

/** The daemon's logger: readable lines (`12:00:01 INFO run succeeded task=backup …`) or JSON lines. */
export function createConsoleLogger(options: ConsoleLoggerOptions): Logger {
  const log =
    (level: keyof typeof LEVELS) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      const time = options.now();
      if (options.format === "json") {
        options.write(jsonLine(LEVELS[level], time, msg ?? "", obj));
        return;
      }
      const clock = new Date(time).toISOString().slice(11, 19);
      const name = level.toUpperCase().padEnd(5);
      const tag = options.color ? `${COLORS[level]}${name}\x1b[0m` : name;
      const fields = Object.entries(obj)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${fieldText(value)}`)
        .join(" ");
      options.write(`${clock} ${tag} ${msg ?? ""}${fields ? `  ${fields}` : ""}\n`);
    };
  return { info: log("info"), warn: log("warn"), error: log("error") };
}
