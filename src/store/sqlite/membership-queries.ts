/** The SQL of the SQLite store's membership (the `nodes` table of migration 10) and of the read before a takeover. */
import { RECORDED_UNDER_MARK } from "./queries.js";

/** Writes a node's heartbeat; a first beat (`@first` 1) restarts its entry (started_at, generation). */
export const BEAT_NODE = `INSERT INTO nodes (node_id, started_at, heartbeat_at, lease_ms, generation)
  VALUES (@nodeId, @now, @now, @leaseMs, 1)
  ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,
    lease_ms = excluded.lease_ms,
    started_at = CASE WHEN @first = 1 THEN excluded.started_at ELSE started_at END,
    generation = generation + @first`;

/** The nodes whose last heartbeat is younger than their lease. */
export const SELECT_LIVE_NODES = `SELECT node_id FROM nodes WHERE heartbeat_at > @now - lease_ms`;

/** Removes a node. */
export const DELETE_NODE = `DELETE FROM nodes WHERE node_id = ?`;

/** Whether a run was claimed already: held, settled, or at or before its task's release mark and recorded. */
export const SELECT_RUN_TAKEN = `SELECT 1 AS taken FROM claims
    WHERE task_name = @taskName AND scheduled_at = @scheduledAt AND manual = 0
  UNION ALL SELECT 1 FROM settled_slots WHERE task_name = @taskName AND scheduled_at = @scheduledAt
  UNION ALL SELECT 1 FROM claim_marks WHERE task_name = @taskName AND released_through >= @scheduledAt
    AND ${RECORDED_UNDER_MARK}
  LIMIT 1`;
