/** Where a command writes, so tests can run commands in-process or as subprocesses alike. */
export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Colours only when the stream is a terminal and NO_COLOR is unset. */
  readonly color: boolean;
}

/** The process's own streams. */
export function processIO(): CommandIO {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  };
}

/** Exit codes: 0 success, 1 the input was checked and is invalid (validate), 2 a usage or input error. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;
