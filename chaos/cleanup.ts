/**
 * Everything the suite starts is registered here, so that it is ended however
 * the suite ends: normally, on an error, or on SIGINT/SIGTERM. Cleanups are
 * synchronous (they must also run in the `exit` handler) and run once each,
 * newest first.
 */

const cleanups: (() => void)[] = [];
let installed = false;

/** Registers a synchronous cleanup; returns the function that runs it now (and unregisters it). */
export function onCleanup(fn: () => void): () => void {
  install();
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    const index = cleanups.indexOf(once);
    if (index >= 0) cleanups.splice(index, 1);
    try {
      fn();
    } catch {
      // a cleanup never stops the others
    }
  };
  cleanups.push(once);
  return once;
}

/** Runs every registered cleanup, newest first. */
export function cleanupAll(): void {
  while (cleanups.length > 0) cleanups[cleanups.length - 1]?.();
}

/** SIGKILL to one process by pid (a stopped one dies too); quiet when it is gone. */
export function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nchaos: ${signal}: stopping everything the suite started\n`);
      cleanupAll();
      process.exit(130);
    });
  }
}
