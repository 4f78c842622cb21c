/** One log method, pino-compatible: a structured object first, then the message. */
export type LogMethod = (obj: Record<string, unknown>, msg?: string) => void;

/** A pino-compatible logger: pass a pino instance, or anything with these three methods. */
export interface Logger {
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** Turns Error values into plain objects so that JSON shows message and stack; other values pass through. */
export function serializeError(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      type: value.name,
      message: value.message,
      stack: value.stack,
      ...(code === undefined ? {} : { code }),
    };
  }
  return value;
}

function line(level: string, obj: Record<string, unknown>, msg: string | undefined): string {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) fields[key] = serializeError(value);
  let json: string;
  try {
    json = JSON.stringify(fields);
  } catch {
    json = "{}";
  }
  return `[orchestrator] ${level} ${msg ?? ""} ${json === "{}" ? "" : json}`.trimEnd() + "\n";
}

/**
 * The default logger: one line per entry on stderr (`[orchestrator] WARN msg {json}`).
 * `info` is written only when `verbose` is set, so a library stays quiet.
 */
export function createStderrLogger(options: { verbose?: boolean } = {}): Logger {
  const write = (text: string): void => {
    try {
      process.stderr.write(text);
    } catch {
      // A closed stderr must never break the scheduler.
    }
  };
  return {
    info: (obj, msg) => {
      if (options.verbose === true) write(line("INFO", obj, msg));
    },
    warn: (obj, msg) => write(line("WARN", obj, msg)),
    error: (obj, msg) => write(line("ERROR", obj, msg)),
  };
}

/** A logger that drops everything (for tests and benchmarks). */
export const silentLogger: Logger = Object.freeze({
  info: () => {},
  warn: () => {},
  error: () => {},
});

/** Calls a logger method and swallows what a broken logger throws. */
export function safeLog(
  logger: Logger,
  level: keyof Logger,
  obj: Record<string, unknown>,
  msg: string,
): void {
  try {
    logger[level](obj, msg);
  } catch {
    // A throwing logger must not break the scheduler either.
  }
}
