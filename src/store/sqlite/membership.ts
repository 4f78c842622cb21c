import type { NodeBeat, RunKey } from "../store.js";
import type { SqliteAccess } from "./daemon-records.js";
import * as sql from "./membership-queries.js";
import { PreparedStatements } from "./prepared.js";

/**
 * The SqliteStore's membership (the `nodes` table of migration 10), for the
 * processes sharing one file: heartbeats on the machine's clock, live while
 * younger than the node's lease (a killed process is seen dead once its
 * lease passes: the lock file of its node id is not looked at, since trying
 * it would hold it). And the read before a takeover.
 */
export class SqliteMembership {
  readonly #access: SqliteAccess;
  readonly #prepared = new PreparedStatements(sql);

  constructor(access: SqliteAccess) {
    this.#access = access;
  }

  heartbeat(beat: NodeBeat): Promise<string[]> {
    return this.#access.write("write a node's heartbeat", (db) => {
      const statements = this.#prepared.of(db);
      const now = this.#access.now();
      statements.BEAT_NODE.run({
        nodeId: beat.nodeId,
        now,
        leaseMs: Math.max(1, Math.round(beat.leaseMs)),
        first: beat.first === true ? 1 : 0,
      });
      const rows = statements.SELECT_LIVE_NODES.all({ now }) as { node_id: string }[];
      const live = new Set(rows.map((row) => row.node_id));
      live.add(beat.nodeId);
      return [...live].sort();
    });
  }

  async leave(nodeId: string): Promise<void> {
    await this.#access.write("remove a node", (db) => {
      this.#prepared.of(db).DELETE_NODE.run(nodeId);
    });
  }

  takenRuns(keys: readonly RunKey[]): Promise<boolean[]> {
    return this.#access.read("read which runs are claimed", (db) => {
      const statement = this.#prepared.of(db).SELECT_RUN_TAKEN;
      return keys.map(
        (key) =>
          statement.get({ taskName: key.taskName, scheduledAt: key.scheduledAt }) !== undefined,
      );
    });
  }
}
