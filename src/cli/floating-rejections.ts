import { safeLog, type Logger } from "../logger.js";

/** Where unhandled rejections are reported: `process` in the daemon. */
export interface RejectionSource {
  on(event: "unhandledRejection", listener: (reason: unknown) => void): unknown;
  off(event: "unhandledRejection", listener: (reason: unknown) => void): unknown;
}

/**
 * Keeps the daemon alive through a promise that rejects with nobody awaiting
 * it (Node ends the process on one by default): it is logged as an error and
 * the daemon goes on. Module handlers run in worker threads, which report
 * their own, naming the task (src/core/worker-entry.ts); what reaches this
 * thread is the daemon's own, or a library's. Returns the function that
 * removes the listener.
 */
export function containFloatingRejections(source: RejectionSource, logger: Logger): () => void {
  const listener = (reason: unknown): void => {
    safeLog(
      logger,
      "error",
      { err: reason },
      "A promise rejected and nothing awaited it; the daemon goes on",
    );
  };
  source.on("unhandledRejection", listener);
  return () => void source.off("unhandledRejection", listener);
}
