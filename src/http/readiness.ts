import type { Scheduler } from "../scheduler/index.js";

/** The answer of `/readyz`: its status code and JSON body. */
export interface Readiness {
  readonly status: 200 | 503;
  readonly body: Readonly<Record<string, string | number>>;
}

/**
 * Whether the daemon can do its work, for `/readyz` (a Kubernetes readiness
 * probe: a pod that is not ready gets no traffic, but is not restarted; that
 * is `/healthz`, which only says the process answers). Not ready while the
 * scheduler is not started (starting up, stopping), or while its store is
 * unusable (claims or finishing writes fail: disk full, damaged file,
 * database unreachable). The body names the reason in a word, never an
 * error message or a path: the route needs no token.
 */
export function readiness(scheduler: Scheduler): Readiness {
  if (!scheduler.running) {
    return { status: 503, body: { status: "not-ready", reason: "not-started" } };
  }
  const store = scheduler.storeStatus;
  if (!store.usable) {
    return {
      status: 503,
      body: {
        status: "not-ready",
        reason: "store-unusable",
        store: store.reason ?? "other",
        since: new Date(store.sinceMs ?? 0).toISOString(),
        failures: store.failures,
      },
    };
  }
  return { status: 200, body: { status: "ready" } };
}
