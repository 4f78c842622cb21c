import { safeLog, type Logger } from "../logger.js";
import type { AuditRetention } from "../store/daemon-records.js";
import type { Store } from "../store/store.js";

/** How much audit log the daemon keeps: 90 days, at most 100,000 rows (the oldest go first). */
export const DAEMON_AUDIT_RETENTION: AuditRetention = Object.freeze({
  maxAgeMs: 90 * 24 * 60 * 60 * 1000,
  maxRows: 100_000,
});

/** How often the daemon applies {@link DAEMON_AUDIT_RETENTION}. */
export const AUDIT_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Prunes the store's audit log now and then every hour, so that a flood of
 * actions (or of refused ones, which anyone holding a token can cause) cannot
 * grow it without bound. Returns the function that stops it. Failures are
 * logged and retried at the next turn.
 */
export function startAuditRetention(store: Store, logger: Logger): () => void {
  const prune = (): void => {
    store.records?.pruneAudit(DAEMON_AUDIT_RETENTION).catch((error: unknown) => {
      safeLog(logger, "warn", { err: error }, "cannot prune the audit log");
    });
  };
  prune();
  const timer = setInterval(prune, AUDIT_PRUNE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
