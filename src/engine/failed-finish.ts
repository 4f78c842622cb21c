import type { Claim, RunRecord, Store } from "../store/store.js";
import type { RunRecorderHost } from "./run-recorder-host.js";

/**
 * A run's finish whose write failed: sent again through the store's health
 * gate, or found already written, else its claim abandoned to the reaper.
 * Only `RunRecorder.finish` (engine/run-recorder.ts) calls this, and only
 * after a failed write: the common path costs nothing more.
 */

/**
 * A finish that failed (`error`), sent again (alone) while the store is
 * unusable and the claim held; undefined when it could not be written (the
 * claim is then abandoned to the reaper, and the failure reported).
 */
export async function finishThroughGate(
  host: RunRecorderHost,
  record: RunRecord,
  claim: Claim,
  release: boolean,
  error: unknown,
): Promise<boolean | undefined> {
  const { store } = host;
  let failure = error;
  const gate = host.writeGate;
  if (gate !== undefined) {
    try {
      const written = await gate(() => store.finishRun(record, claim, { release }), claim);
      return written || (await writtenBefore(store, record, claim));
    } catch (again) {
      failure = again;
    }
  }
  if (await writtenBefore(store, record, claim)) return true;
  host.abandon?.(claim);
  host.emit("scheduler:error", {
    error: failure,
    context: "history",
    taskName: record.taskName,
  });
  return undefined;
}

/**
 * True when the history holds this attempt's row under this claim already:
 * the write that failed had committed and only its answer was lost (a
 * connection cut after the commit), so that writing it again is refused
 * (its claim was released with it). Without this the run was recorded
 * `lost` beside its own row. Asked only after a failed write.
 */
async function writtenBefore(store: Store, record: RunRecord, claim: Claim): Promise<boolean> {
  try {
    const rows = await store.history({ taskName: record.taskName, limit: 1_000 });
    return rows.some(
      (row) =>
        row.claimId === claim.id &&
        row.attempt === record.attempt &&
        row.nodeId === record.nodeId &&
        row.status === record.status,
    );
  } catch {
    return false;
  }
}
