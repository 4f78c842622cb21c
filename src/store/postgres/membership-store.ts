import type { QueryResultRow } from "pg";
import type { Clock } from "../../time/clock.js";
import type { NodeBeat, RunKey } from "../store.js";
import { Batcher } from "./batcher.js";
import type { MembershipQueries } from "./membership-queries.js";
import { returnedPositions } from "./rows.js";
import type { ClockSkew } from "./postgres-options.js";

/** What {@link PostgresMembership} needs of its store. */
export interface MembershipHost {
  readonly schema: string;
  readonly query: <R extends QueryResultRow>(
    key: string,
    text: string,
    values: unknown[],
  ) => Promise<R[]>;
}

/** The PostgreSQL store's side of membership: heartbeats in `nodes`, leaving, the read before a takeover. */
export class PostgresMembership {
  readonly #queries: MembershipQueries;
  readonly #host: MembershipHost;

  constructor(queries: MembershipQueries, host: MembershipHost) {
    this.#queries = queries;
    this.#host = host;
  }

  /** Writes this node's beat; answers the live nodes, sorted (`locked`: this node holds its node-id lock). */
  async heartbeat(beat: NodeBeat, locked: boolean): Promise<string[]> {
    const rows = await this.#host.query<{ node_id: string }>("beatNode", this.#queries.beatNode, [
      beat.nodeId,
      Math.max(1, Math.min(2 ** 31 - 1, Math.round(beat.leaseMs))),
      locked,
      beat.first === true,
      this.#host.schema,
    ]);
    return rows.map((row) => row.node_id).sort();
  }

  async leave(nodeId: string): Promise<void> {
    await this.#host.query("leaveNode", this.#queries.leaveNode, [nodeId]);
  }

  /**
   * Reads made together share one statement: past saturation every held-back
   * task reads the free stretches of its refused missed range, and a
   * statement each (one round trip, one commit) saturated the server.
   */
  readonly #reads = new Batcher<RunKey, boolean>(async (keys) => {
    const rows = await this.#host.query<{ ord: number }>("takenRuns", this.#queries.takenRuns, [
      keys.map((key) => key.taskName),
      keys.map((key) => new Date(key.scheduledAt)),
    ]);
    return returnedPositions(rows, keys.length);
  });

  takenRuns(keys: readonly RunKey[]): Promise<boolean[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.#reads.addGroup(keys);
  }
}

/**
 * Compares the database clock (`now`) with this node's clock. The best of
 * `samples` round trips is used.
 */
export async function measureSkew(
  clock: Clock,
  now: () => Promise<number>,
  samples: number,
): Promise<ClockSkew> {
  let best: ClockSkew | undefined;
  for (let i = 0; i < Math.max(1, samples); i++) {
    const start = clock.monotonicMs();
    const wallStart = clock.nowMs();
    const dbMs = await now();
    const roundTripMs = clock.monotonicMs() - start;
    const skewMs = dbMs - (wallStart + roundTripMs / 2);
    if (best === undefined || roundTripMs < best.roundTripMs) best = { skewMs, roundTripMs };
  }
  return best as ClockSkew;
}
