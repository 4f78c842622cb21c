import type { Claim, ClaimOutcome, ClaimRequest, RunKey } from "../store/store.js";
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
  const { answers, rest, restIndex, taken } = deps.ahead.answer(requests);
  if (rest.length === 0) return answers;
  try {
    return await takeOverRest(rest, restIndex, answers, taken, deps);
  } catch (error) {
    // Failed whole (its runs do not start): the claims taken ahead are held again, not lost.
    deps.ahead.putBack(taken);
    throw error;
  }
}

/** The runs no claim taken ahead answered: read which are taken, claim the others. */
async function takeOverRest(
  rest: readonly ClaimRequest[],
  restIndex: readonly number[],
  answers: ClaimOutcome[],
  taken: Claim[],
  deps: TakeOverDeps,
): Promise<ClaimOutcome[]> {
  const claimed = (await deps.takenRuns(rest)) ?? rest.map(() => false);
  const free: ClaimRequest[] = [];
  const freeIndex: number[] = [];
  rest.forEach((request, i) => {
    if (claimed[i] === true) {
      // Taken by this node ahead meanwhile: its own.
      const own = deps.ahead.take(request.taskName, request.scheduledAt, request.nodeId) ?? null;
      if (own !== null) taken.push(own);
      answers[restIndex[i] as number] = own;
      return;
    }
    free.push(request);
    freeIndex.push(restIndex[i] as number);
  });
  if (free.length === 0) return answers;
  const won = await deps.claim(free);
  won.forEach((claim, i) => (answers[freeIndex[i] as number] = claim));
  return answers;
}
