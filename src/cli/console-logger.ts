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

/** The daemon's logger: readable lines (`12:00:01 INFO run succeeded task=backup …`) or JSON lines. */
export function createConsoleLogger(options: ConsoleLoggerOptions): Logger {
  const log =
    (level: keyof typeof LEVELS) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      const time = options.now();
      if (options.format === "json") {
        const fields: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(obj)) fields[key] = serializeError(value);
        let text: string;
        try {
          text = JSON.stringify({ level: LEVELS[level], time, msg: msg ?? "", ...fields });
        } catch {
          text = JSON.stringify({ level: LEVELS[level], time, msg: msg ?? "" });
        }
        options.write(`${text}\n`);
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
