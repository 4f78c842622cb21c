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
  /**
   * Format and write the lines of one turn of the event loop together, after
   * it (the daemon): a burst's `run started` lines then cost its callbacks no
   * time, and one write replaces one per line. A line keeps the time it was
   * logged at; its fields are read when it is written, so pass objects that
   * do not change. {@link ConsoleLogger.flush} writes what waits at once.
   */
  readonly deferred?: boolean;
}

/** The daemon's logger; `flush` writes the lines a deferred logger holds (before `process.exit`). */
export interface ConsoleLogger extends Logger {
  flush(): void;
}

/**
 * Lines a deferred logger holds at most; one more writes them at once. Lines
 * held past a collection of the young generation are copied out of it (a
 * line holds its fields, some 70 bytes): the starts of a burst of a million,
 * logged all together once its callbacks are called (`runs:started`), held
 * until the end kept the collector busy for seconds.
 */
const MAX_DEFERRED_LINES = 32_768;
/**
 * Lines after which the held ones are written as soon as the code that is
 * running returns (a microtask), not after the turn: a burst's loop still
 * runs to its end first, while the ends of a million runs, a chain of
 * microtasks in one turn, no longer hold all their lines (and the collector
 * busy) until it is over.
 */
const LINES_SOON = 8_192;
/**
 * Lines formatted into one string and written at once (one string of
 * 200,000 lines kept the collector busy for most of a second).
 */
const LINES_A_WRITE = 1_000;

const LEVELS = { info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;
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

/** JSON strings of the messages and field names seen, which repeat on every line (bounded). */
const quotedNames = new Map<string, string>();

function quoted(name: string): string {
  let json = quotedNames.get(name);
  if (json === undefined) {
    json = JSON.stringify(name);
    if (quotedNames.size < 1024) quotedNames.set(name, json);
  }
  return json;
}

/** A field's JSON; undefined leaves it out. */
function fieldJson(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "string") return JSON.stringify(value);
  return JSON.stringify(serializeError(value));
}

/**
 * One JSON line, pino's shape: level, time, msg, then the fields (errors
 * serialized, undefined ones left out). Written field by field, not through
 * an object per line: the daemon writes two lines per run.
 */
function jsonLine(level: number, time: number, msg: string, obj: Record<string, unknown>): string {
  let text = `{"level":${level},"time":${fieldJson(time)},"msg":${quoted(msg)}`;
  try {
    for (const key of Object.keys(obj)) {
      if (LINE_KEYS.has(key))
        return `${JSON.stringify({ level, time, msg, ...serializeFields(obj) })}\n`;
      const value = fieldJson(obj[key]);
      if (value !== undefined) text += `,${quoted(key)}:${value}`;
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

/** One line of the daemon's log in `options.format`. */
function formatLine(
  options: ConsoleLoggerOptions,
  level: Level,
  time: number,
  obj: Record<string, unknown>,
  msg: string | undefined,
): string {
  if (options.format === "json") return jsonLine(LEVELS[level], time, msg ?? "", obj);
  const clock = new Date(time).toISOString().slice(11, 19);
  const name = level.toUpperCase().padEnd(5);
  const tag = options.color ? `${COLORS[level]}${name}\x1b[0m` : name;
  const fields = Object.entries(obj)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`)
    .join(" ");
  return `${clock} ${tag} ${msg ?? ""}${fields ? `  ${fields}` : ""}\n`;
}

/** The daemon's logger: readable lines (`12:00:01 INFO run succeeded task=backup …`) or JSON lines. */
export function createConsoleLogger(options: ConsoleLoggerOptions): ConsoleLogger {
  if (options.deferred !== true) {
    const log =
      (level: Level) =>
      (obj: Record<string, unknown>, msg?: string): void =>
        options.write(formatLine(options, level, options.now(), obj, msg));
    return { info: log("info"), warn: log("warn"), error: log("error"), flush: () => {} };
  }
  // Lines in chunks of a thousand, four slots a line (level, time, fields, message): no
  // object per line, no copy of a growing array, and a chunk is one write.
  let chunks: unknown[][] = [];
  let chunk: unknown[] = [];
  let lines = 0;
  let scheduled = false;
  const flush = (): void => {
    const full = chunks;
    chunks = [];
    chunk = [];
    lines = 0;
    for (const held of full) {
      let text = "";
      for (let i = 0; i < held.length; i += 4) {
        const obj = held[i + 2] as Record<string, unknown>;
        const msg = held[i + 3] as string | undefined;
        text += formatLine(options, held[i] as Level, held[i + 1] as number, obj, msg);
      }
      try {
        options.write(text);
      } catch {
        // A closed output must never break the scheduler (this runs outside any caller).
      }
    }
  };
  const flushLater = (): void => {
    scheduled = false;
    flush();
  };
  const log =
    (level: Level) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      if (chunk.length === 0 || chunk.length === LINES_A_WRITE * 4) chunks.push((chunk = []));
      chunk.push(level, options.now(), obj, msg);
      if (++lines >= MAX_DEFERRED_LINES) flush();
      else if (lines === LINES_SOON) queueMicrotask(flush);
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flushLater);
      }
    };
  return { info: log("info"), warn: log("warn"), error: log("error"), flush };
}
