import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { ReapedClaim } from "../store.js";
import * as sql from "./queries.js";
import { claimOf, type ClaimRow } from "./rows.js";
import { WriteQueue, type LockWait } from "./write-queue.js";

/** The prepared statements of an open store, one per export of queries.ts. */
export interface Statements {
  insertTask: Database.Statement;
  upsertTask: Database.Statement;
  selectTask: Database.Statement;
  selectTasks: Database.Statement;
  updateTaskProgress: Database.Statement;
  updateTaskCallback: Database.Statement;
  deleteTask: Database.Statement;
  takeTokens: Database.Statement;
  selectRunsStarted: Database.Statement;
  countRunStarted: Database.Statement;
  claimScheduledRun: Database.Statement;
  claimManualRun: Database.Statement;
  renewLease: Database.Statement;
  recordClaimProcess: Database.Statement;
  selectHeldClaim: Database.Statement;
  selectClaimInRange: Database.Statement;
  selectSettledInRange: Database.Statement;
  deleteSettledThrough: Database.Statement;
  settleUnrecordedRelease: Database.Statement;
  deleteClaim: Database.Statement;
  raiseClaimMark: Database.Statement;
  selectReapableClaims: Database.Statement;
  takeOverClaim: Database.Statement;
  clearAttemptNode: Database.Statement;
  insertRun: Database.Statement;
  selectHistory: Database.Statement;
  selectTaskHistory: Database.Statement;
  pruneAgedBatch: Database.Statement;
  selectRowsCutoff: Database.Statement;
  pruneThroughBatch: Database.Statement;
  selectTaskCutoff: Database.Statement;
  pruneTaskThroughBatch: Database.Statement;
}

/** What a reap needs (see Store.reapExpiredClaims). */
export interface ReapParams {
  readonly now: number;
  readonly nodeId: string;
  readonly atStart: boolean;
  readonly leaseMs: number;
}

/** An open connection: the database, its statements, the multi-statement operations and the write queue. */
export interface Connection {
  db: Database.Database;
  statements: Statements;
  queue: WriteQueue;
  release(claimId: string): void;
  /**
   * Raises the task's release mark to `releasedThrough` (a key released, or
   * settled: a claim released at once); that key can never be claimed again,
   * although no claim row is kept (its history row, or a settled slot, answers
   * for it), nor any earlier key that was recorded.
   */
  raiseMark(taskName: string, releasedThrough: number): void;
  reap(params: ReapParams): ReapedClaim[];
  schemaVersion: number;
}

/** Prepares every statement once and builds the multi-statement operations. */
export function connect(db: Database.Database, schemaVersion: number, wait: LockWait): Connection {
  const statements: Statements = {
    insertTask: db.prepare(sql.INSERT_TASK),
    upsertTask: db.prepare(sql.UPSERT_TASK),
    selectTask: db.prepare(sql.SELECT_TASK),
    selectTasks: db.prepare(sql.SELECT_TASKS),
    updateTaskProgress: db.prepare(sql.UPDATE_TASK_PROGRESS),
    updateTaskCallback: db.prepare(sql.UPDATE_TASK_CALLBACK),
    deleteTask: db.prepare(sql.DELETE_TASK),
    takeTokens: db.prepare(sql.TAKE_TOKENS),
    selectRunsStarted: db.prepare(sql.SELECT_RUNS_STARTED),
    countRunStarted: db.prepare(sql.COUNT_RUN_STARTED),
    claimScheduledRun: db.prepare(sql.CLAIM_SCHEDULED_RUN),
    claimManualRun: db.prepare(sql.CLAIM_MANUAL_RUN),
    renewLease: db.prepare(sql.RENEW_LEASE),
    recordClaimProcess: db.prepare(sql.RECORD_CLAIM_PROCESS),
    selectHeldClaim: db.prepare(sql.SELECT_HELD_CLAIM),
    selectClaimInRange: db.prepare(sql.SELECT_CLAIM_IN_RANGE),
    selectSettledInRange: db.prepare(sql.SELECT_SETTLED_IN_RANGE),
    deleteSettledThrough: db.prepare(sql.DELETE_SETTLED_THROUGH),
    settleUnrecordedRelease: db.prepare(sql.SETTLE_UNRECORDED_RELEASE),
    deleteClaim: db.prepare(sql.DELETE_CLAIM),
    raiseClaimMark: db.prepare(sql.RAISE_CLAIM_MARK),
    selectReapableClaims: db.prepare(sql.SELECT_REAPABLE_CLAIMS),
    takeOverClaim: db.prepare(sql.TAKE_OVER_CLAIM),
    clearAttemptNode: db.prepare(sql.CLEAR_ATTEMPT_NODE),
    insertRun: db.prepare(sql.INSERT_RUN),
    selectHistory: db.prepare(sql.SELECT_HISTORY),
    selectTaskHistory: db.prepare(sql.SELECT_TASK_HISTORY),
    pruneAgedBatch: db.prepare(sql.PRUNE_AGED_BATCH),
    selectRowsCutoff: db.prepare(sql.SELECT_ROWS_CUTOFF),
    pruneThroughBatch: db.prepare(sql.PRUNE_THROUGH_BATCH),
    selectTaskCutoff: db.prepare(sql.SELECT_TASK_CUTOFF),
    pruneTaskThroughBatch: db.prepare(sql.PRUNE_TASK_THROUGH_BATCH),
  };
  const raiseMark = (taskName: string, releasedThrough: number): void => {
    const mark = { taskName, releasedThrough };
    statements.raiseClaimMark.run(mark);
    statements.deleteSettledThrough.run(mark);
    statements.settleUnrecordedRelease.run(mark);
  };
  return {
    db,
    statements,
    schemaVersion,
    queue: new WriteQueue(db, wait),
    release: (claimId: string) => {
      const row = statements.deleteClaim.get(claimId) as ClaimRow | undefined;
      // Releasing a scheduled claim raises its task's mark.
      if (row !== undefined && row.manual === 0) raiseMark(row.task_name, row.scheduled_at);
    },
    raiseMark,
    reap: (params: ReapParams) => {
      const rows = statements.selectReapableClaims.all({
        now: params.now,
        nodeId: params.nodeId,
        atStart: params.atStart ? 1 : 0,
      }) as ClaimRow[];
      if (rows.length === 0) return [];
      // Taken over, not released: the reaper's finishRun of the interrupted row releases them.
      const last = (statements.takeTokens.get({ count: rows.length }) as { last: number }).last;
      let token = last - rows.length;
      return rows.map((row) => {
        const taken = statements.takeOverClaim.get({
          id: row.id,
          newId: randomUUID(),
          nodeId: params.nodeId,
          leaseExpiresAt: params.now + params.leaseMs,
          token: ++token,
        }) as ClaimRow;
        // As the attempt's node had it (a reaper that died before recording it is passed over).
        return {
          ...claimOf(row),
          nodeId: row.attempt_node ?? row.node_id,
          takenOver: claimOf(taken),
        };
      });
    },
  };
}
