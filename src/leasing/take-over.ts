import type { ClaimOutcome, ClaimRequest, RunKey } from "../store/store.js";
import type { ClaimsAhead } from "./claims-ahead.js";

/** What {@link takeOverRuns} needs of its LeasedStore. */
export interface TakeOverDeps {
  /** The claims taken ahead by this node. */
  readonly ahead: ClaimsAhead;
  /** `Store.takenRuns` (undefined: the store cannot tell, every run counts as free). */
  readonly takenRuns: (keys: readonly RunKey[]) => Promise<boolean[]> | undefined;
  /** Claims the runs nobody has yet. */
  readonly claim: (requests: readonly ClaimRequest[]) => Promise<ClaimOutcome[]>;
}

/**
 * The body of `LeasedStore.takeOver`: a claim taken ahead here is used; of
 * the rest, only runs nobody claimed yet (`Store.takenRuns`, a read) are
 * claimed. Answers in the order asked (null: someone else has the run).
 */
export async function takeOverRuns(
  requests: readonly ClaimRequest[],
  deps: TakeOverDeps,
): Promise<ClaimOutcome[]> {
  const answers: ClaimOutcome[] = new Array<ClaimOutcome>(requests.length).fill(null);
  const rest: ClaimRequest[] = [];
  const restIndex: number[] = [];
  requests.forEach((request, index) => {
    const claim =
      request.manual === true
        ? undefined
        : deps.ahead.take(request.taskName, request.scheduledAt, request.nodeId);
    if (claim !== undefined) {
      answers[index] = claim;
    } else {
      rest.push(request);
      restIndex.push(index);
    }
  });
  if (rest.length === 0) return answers;
  const taken = (await deps.takenRuns(rest)) ?? rest.map(() => false);
  const free: ClaimRequest[] = [];
  const freeIndex: number[] = [];
  rest.forEach((request, i) => {
    if (taken[i] === true) {
      // Taken by this node ahead meanwhile: its own.
      answers[restIndex[i] as number] =
        deps.ahead.take(request.taskName, request.scheduledAt, request.nodeId) ?? null;
      return;
    }
    free.push(request);
    freeIndex.push(restIndex[i] as number);
  });
  if (free.length === 0) return answers;
  const claimed = await deps.claim(free);
  claimed.forEach((claim, i) => (answers[freeIndex[i] as number] = claim));
  return answers;
}
