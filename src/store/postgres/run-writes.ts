import { randomUUID } from "node:crypto";
import type { Pool, QueryResultRow } from "pg";
import type {
  Claim,
  ClaimAnswer,
  ClaimProcess,
  ClaimRef,
  FinishRequest,
  ReapedClaim,
  RunRecord,
  StoreChange,
} from "../store.js";
import { Batcher } from "./batcher.js";
import { claimCounted } from "./counted-claim.js";
import { finishRuns, finishRunsParams } from "./finish-queries.js";
import type { PostgresClaimRequest } from "./postgres-options.js";
import type { Queries } from "./queries.js";
import { lockSlotsText, slotLockBase, underSlotLocks } from "./slot-locks.js";
import {
  claimOf,
  reapedOf,
  returnedPositions,
  settleSlotsParams,
  writeRunsParams,
  type ClaimRow,
  type ReapedRow,
  type RunWrite,
} from "./rows.js";

const REAP_BATCH = 500;

type AskedClaim = PostgresClaimRequest & { readonly id: string };

/** What {@link PostgresRunWrites} needs of its store. */
export interface RunWritesContext {
  readonly schema: string;
  readonly channel: string;
  readonly queries: Queries;
  /** Default lease length, ms. */
  readonly leaseMs: number;
  readonly pool: () => Pool;
  readonly query: <R extends QueryResultRow>(
    key: string,
    text: string,
    values: unknown[],
  ) => Promise<R[]>;
  /** Statements without parameters as one simple query: each statement's rows. */
  readonly queryEach: <R extends QueryResultRow>(key: string, text: string) => Promise<R[][]>;
  /** The notification payload of a task change. */
  readonly change: (kind: StoreChange["kind"], taskName: string) => string;
}

/**
 * The PostgreSQL store's claims and run writes: claims batched into one
 * statement (counted ones apart, see counted-claim.ts), lease renewals and
 * the attempts' processes, history rows and releases batched together,
 * skipped and missed runs settled in batches, finishes with their tasks'
 * progress, and the reaping of expired claims.
 */
export class PostgresRunWrites {
  readonly #context: RunWritesContext;
  /** The first key of this schema's slot locks (slot-locks.ts). */
  readonly #slotLockBase: bigint;
  /** The batched finish (finish-queries.ts), rendered for this schema. */
  readonly #finishRuns: string;
  readonly #claims = new Batcher<AskedClaim, Claim | null>((requests) =>
    this.#claimBatch(requests),
  );
  /**
   * History rows and releases, combined: finishing a run costs a share of one
   * commit. Each item answers whether it was written (a fenced row whose
   * claim was no longer held was not; everything else was).
   */
  readonly #writes = new Batcher<RunWrite | Claim, boolean>(async (items) => {
    const writes: RunWrite[] = [];
    const releases: Claim[] = [];
    const fenced = new Map<number, number>();
    items.forEach((item, index) => {
      if ("record" in item) {
        if (item.fence !== null) fenced.set(writes.length + 1, index);
        writes.push(item);
      } else {
        releases.push(item);
      }
    });
    const rows = await this.#run<{ ord: number }>("writeRuns", [
      ...writeRunsParams(writes),
      releases.map((c) => c.id),
      releases.map((c) => c.nodeId),
    ]);
    const answers = items.map(() => true);
    for (const index of fenced.values()) answers[index] = false;
    for (const { ord } of rows) {
      const index = fenced.get(ord);
      if (index !== undefined) answers[index] = true;
    }
    return answers;
  });
  /**
   * Skipped and missed runs, combined like writes, under their slot locks:
   * exclusive for a missed range, so that no claim inside it runs beside it.
   */
  readonly #settles = new Batcher<RunRecord, boolean>(async (records) => {
    const rows = await this.#underSlotLocks<{ ord: number }>(
      "settleSlots",
      records.map((r) => r.taskName),
      (i) => {
        const { missedThrough, scheduledAt } = records[i] as RunRecord;
        return (missedThrough ?? scheduledAt) > scheduledAt;
      },
      settleSlotsParams(records),
    );
    return returnedPositions(rows, records.length);
  });

  readonly #renewals = new Batcher<{ claim: Claim; leaseMs: number }, boolean>(async (items) => {
    const rows = await this.#run<{ ord: number }>("renewLease", [
      items.map((item) => item.claim.id),
      items.map((item) => item.claim.nodeId),
      items.map((item) => item.leaseMs),
    ]);
    return returnedPositions(rows, items.length);
  });

  /** Claims given back unspent, combined (a stopping node gives back all it claimed ahead). */
  readonly #giveBacks = new Batcher<Claim, void>(async (claims) => {
    await this.#run("giveBack", [claims.map((c) => c.id), claims.map((c) => c.nodeId)]);
    return claims.map(() => undefined);
  });

  constructor(context: RunWritesContext) {
    this.#context = context;
    this.#slotLockBase = slotLockBase(context.schema);
    this.#finishRuns = finishRuns(context.queries.schema);
  }

  /** One due run (concurrent calls share one statement); see PostgresStore.claimRun. */
  claimRun<R extends PostgresClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    const { maxRuns } = request;
    const asked = { ...request, id: randomUUID() };
    if (maxRuns === undefined) return this.#claims.add(asked);
    const params = this.#claimParams([asked]);
    const claim = claimCounted(
      this.#context.pool(),
      this.#context.queries,
      {
        taskName: request.taskName,
        maxRuns,
        params,
        lockSlots: lockSlotsText(this.#slotLockBase, [request.taskName], () => false),
      },
      this.#context.schema,
    );
    return claim as Promise<ClaimAnswer<R>>;
  }

  claimRuns<R extends PostgresClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return Promise.all(requests.map((request) => this.claimRun(request)));
  }

  async #claimBatch(requests: readonly AskedClaim[]): Promise<(Claim | null)[]> {
    const params = this.#claimParams(requests);
    const scheduled = requests.filter((r) => r.manual !== true).map((r) => r.taskName);
    // Manual claims are unique by id: no settle can meet them.
    const rows =
      scheduled.length === 0
        ? await this.#run<ClaimRow>("claimRuns", params)
        : await this.#underSlotLocks<ClaimRow>("claimRuns", scheduled, () => false, params);
    const won = new Map(rows.map((row) => [row.id, claimOf(row)]));
    return requests.map((r) => won.get(r.id) ?? null);
  }

  /** Runs statement `key` in a transaction that takes the slot locks of `taskNames` first (slot-locks.ts). */
  async #underSlotLocks<R extends QueryResultRow>(
    key: "claimRuns" | "settleSlots",
    taskNames: readonly string[],
    exclusive: (index: number) => boolean,
    values: unknown[],
  ): Promise<R[]> {
    const locks = lockSlotsText(this.#slotLockBase, taskNames, exclusive);
    const text = underSlotLocks(locks, this.#context.queries[key], values);
    return (await this.#context.queryEach<R>(key, text))[1] ?? [];
  }

  /** The parallel arrays of the claimRuns statement. */
  #claimParams(requests: readonly AskedClaim[]): unknown[] {
    return [
      requests.map((r) => r.id),
      requests.map((r) => r.taskName),
      requests.map((r) => new Date(r.scheduledAt)),
      requests.map((r) => r.manual === true),
      requests.map((r) => r.nodeId),
      requests.map((r) => (r.leaseMs > 0 ? r.leaseMs : this.#context.leaseMs)),
      requests.map((r) => r.exclusive === true),
    ];
  }

  /**
   * Moves the lease on while this node holds the claim unexpired (`leaseMs` ≤ 0: the default).
   * Renewals due together share one statement: a node holding thousands of claims (runs
   * waiting for their ends to be written, past saturation) sent a statement for each.
   */
  renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    return this.#renewals.add({ claim, leaseMs: leaseMs > 0 ? leaseMs : this.#context.leaseMs });
  }

  /** Records the process group running the claim's attempt, while its node holds the claim. */
  async recordProcess(claim: ClaimRef, process: ClaimProcess): Promise<boolean> {
    const rows = await this.#run("recordClaimProcess", [
      claim.taskName,
      claim.fencingToken,
      claim.nodeId,
      process.pgid,
      process.startTime,
    ]);
    return rows.length === 1;
  }

  /** Gives back a claim whose run never started, its key unspent (batched). */
  giveBack(claim: Claim): Promise<void> {
    return this.#giveBacks.add(claim);
  }

  /** Releases a claim (batched with concurrent releases). */
  async releaseClaim(claim: Claim): Promise<void> {
    await this.#writes.add(claim);
  }

  /** Takes over the claims of dead processes, in batches (see Store.reapExpiredClaims). */
  async reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]> {
    const claims: ReapedClaim[] = [];
    const leaseMs =
      options.leaseMs !== undefined && options.leaseMs > 0
        ? options.leaseMs
        : this.#context.leaseMs;
    // At start, every held claim of this node is taken over for this node again: without a bound,
    // a full batch would be selected again by the next one, for ever (a restart with 500 or more).
    let firstToken: number | null = null;
    for (;;) {
      const rows = await this.#run<ReapedRow>("reapExpiredClaims", [
        options.nodeId,
        options.atStart,
        REAP_BATCH,
        leaseMs,
        firstToken,
      ]);
      for (const row of rows) {
        const claim = reapedOf(row);
        claims.push(claim);
        const token = claim.takenOver.fencingToken;
        if (firstToken === null || token < firstToken) firstToken = token;
      }
      if (rows.length < REAP_BATCH) return claims;
    }
  }

  /** The attempt's row fenced by its claim, and the release unless `release` is false. */
  finishRun(record: RunRecord, claim: Claim, release: boolean): Promise<boolean> {
    return this.#writes.add({ record, fence: claim, release });
  }

  /** Many finishes with their tasks' progress: one statement, one commit. */
  async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    if (finishes.length === 0) return [];
    const rows = await this.#context.query<{ ord: number }>(
      "finishRuns",
      this.#finishRuns,
      finishRunsParams(finishes, this.#context.channel, (taskName) =>
        this.#context.change("upsert", taskName),
      ),
    );
    return returnedPositions(rows, finishes.length);
  }

  /** Appends a history row as it is (batched with concurrent appends, in call order). */
  async recordRun(record: RunRecord): Promise<void> {
    await this.#writes.add({ record, fence: null, release: false });
  }

  settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    return Promise.all(records.map((record) => this.#settles.add(record)));
  }

  #run<R extends QueryResultRow = QueryResultRow>(
    key: Exclude<keyof Queries, "schema">,
    values: unknown[],
  ): Promise<R[]> {
    return this.#context.query<R>(key, this.#context.queries[key], values);
  }
}
