/**
 * Every SQL statement of the PostgreSQL store, one named export each. A
 * statement is a function of the quoted schema name (see {@link quoteSchema}),
 * so one process can serve several schemas; {@link buildQueries} renders them
 * all once per store. Timestamps are `timestamptz`, passed and read as Dates
 * (millisecond precision); lease and claim instants come from the database
 * clock (`clock_timestamp()`), never from the node.
 */
import { InvalidArgumentError } from "../../errors.js";
import { raiseMarks, recordedUnderMark } from "./claim-mark.js";
import { recordAndRelease } from "./finish-queries.js";
import {
  deleteTask,
  getTask,
  insertTask,
  listTasks,
  notify,
  updateTaskCallback,
  updateTaskProgress,
  upsertTask,
} from "./task-queries.js";

export * from "./task-queries.js";

/** A schema name that passed {@link quoteSchema}, double-quoted, ready to paste into SQL. */
export type QuotedSchema = string & { readonly __quotedSchema: true };

/** Longest schema name accepted: the notification channel `<schema>.changes` must fit PostgreSQL's 63-byte identifiers. */
export const MAX_SCHEMA_LENGTH = 48;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates `schema` as a plain identifier (letters, digits, underscores, not
 * starting with a digit, at most {@link MAX_SCHEMA_LENGTH} characters) and
 * returns it double-quoted. Quoting keeps its case; validation keeps quotes and
 * anything else that could end the identifier out of the SQL text.
 */
export function quoteSchema(schema: unknown): QuotedSchema {
  if (typeof schema !== "string" || !IDENTIFIER.test(schema) || schema.length > MAX_SCHEMA_LENGTH) {
    throw new InvalidArgumentError(
      "options.schema",
      `an identifier of letters, digits and underscores, not starting with a digit, at most ${MAX_SCHEMA_LENGTH} characters`,
      schema,
    );
  }
  return `"${schema}"` as QuotedSchema;
}

/** The LISTEN/NOTIFY channel of a schema (one channel per schema). */
export function channelOf(schema: string): string {
  return `${schema}.changes`;
}

/** The column list read back for a claim. */
const CLAIM_COLUMNS = `id, task_name, scheduled_at, node_id, claimed_at, lease_expires_at, token,
  process_group, process_start`;

/** The database clock in epoch ms (fractional). */
export const nowMs = () => `select extract(epoch from clock_timestamp()) * 1000 as now_ms`;

/** The highest applied migration version, 0 when none. */
export const schemaVersion = (s: QuotedSchema) =>
  `select coalesce(max(version), 0)::int as version from ${s}.migrations`;

/**
 * Claims a batch of runs in one statement. Each row is one claim request:
 * $1 ids, $2 task names, $3 scheduled times, $4 manual flags, $5 nodes, $6
 * lease ms, $7 exclusive flags (parallel arrays).
 *
 * A claim owns its run's slot: the partial unique index on (task_name,
 * scheduled_at), the conflict arbiter named here, makes a second claim of a
 * key no row returned, so exactly one caller ever gets a key (manual claims
 * are unique by id alone). A key at or before the task's release mark is not
 * claimable either once it was recorded (its claim row may have been
 * pruned; see {@link recordedUnderMark}). An exclusive request
 * also takes the task's row in `task_runners`; when another claim holds it,
 * the slot is still won and comes back `overlapping` (the run is skipped and
 * recorded by this claimant: nothing vanishes in a conflict). Rows go in key
 * order, so two batches never wait on each other in a cycle, and in request
 * order within a key, so the first request of a key asked twice wins. Every
 * claim takes the next fencing token of the schema's sequence.
 */
export const claimRuns = (s: QuotedSchema) => `with r as (
  select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[], $5::text[],
    $6::float8[], $7::boolean[]) with ordinality
    as r(id, task_name, scheduled_at, manual, node_id, lease_ms, exclusive, ord)
), won as (
  insert into ${s}.claims
    (id, task_name, scheduled_at, manual, node_id, claimed_at, lease_expires_at, exclusive)
  select r.id, r.task_name, r.scheduled_at, r.manual, r.node_id, t.now,
    t.now + r.lease_ms * interval '1 millisecond', r.exclusive
  from r, lateral (select clock_timestamp() as now) t
  where r.manual or not exists (
    select 1 from ${s}.claim_marks m where m.task_name = r.task_name and m.released_through >= r.scheduled_at
      and ${recordedUnderMark(s, "r")}
  )
  order by r.task_name, r.scheduled_at, r.ord
  on conflict (task_name, scheduled_at) where not manual do nothing
  returning ${CLAIM_COLUMNS}
), held as (
  insert into ${s}.task_runners (task_name, claim_id)
  select w.task_name, w.id from won w join r on r.id = w.id where r.exclusive
  order by w.task_name
  on conflict (task_name) do nothing
  returning claim_id
)
select w.*, (r.exclusive and h.claim_id is null) as overlapping
from won w join r on r.id = w.id left join held h on h.claim_id = w.id`;

/**
 * Locks task $1's count of runs started toward its maxRuns (made at 0 when
 * missing) and returns it: concurrent counted claims of the task wait here.
 */
export const lockRunCount = (
  s: QuotedSchema,
) => `insert into ${s}.run_counts as c (task_name, started)
values ($1, 0) on conflict (task_name) do update set started = c.started returning started`;

/** Counts one more run of task $1 toward its maxRuns (after lockRunCount, same transaction). */
export const countRunStarted = (s: QuotedSchema) =>
  `update ${s}.run_counts set started = started + 1 where task_name = $1`;

/**
 * Extends the leases of claims ($1 ids, $2 their nodes) to now + $3 ms each,
 * each only while still held (not released or reaped) and unexpired: an
 * expired lease is never revived, since another node may already be reaping
 * it. Rows are locked in id order, as the finishing writes lock them, so
 * that a node's concurrent batches cannot deadlock. Returns the positions
 * (1-based) of the claims renewed.
 */
export const renewLease = (s: QuotedSchema) => `with asked as (
  select * from unnest($1::text[], $2::text[], $3::float8[]) with ordinality as r(id, node_id, lease_ms, ord)
), held as (
  select c.id from ${s}.claims c join asked a on a.id = c.id and a.node_id = c.node_id
  where c.released_at is null and c.lease_expires_at > clock_timestamp()
  order by c.id
  for update of c
)
update ${s}.claims c
set lease_expires_at = clock_timestamp() + a.lease_ms * interval '1 millisecond'
from asked a
where c.id = a.id and c.id in (select id from held)
returning a.ord::int as ord`;

/**
 * Gives back claims ($1 ids, $2 their nodes) whose runs never started, while
 * their nodes still hold them: the rows go (their keys unspent, claimable
 * again by anyone) and with them the tasks' exclusive holds. Locked in id
 * order first, as renewals lock them; a reaper skips them meanwhile.
 */
export const giveBack = (s: QuotedSchema) => `with asked as (
  select * from unnest($1::text[], $2::text[]) as a(id, node_id)
), held as (
  select c.id from ${s}.claims c join asked a on a.id = c.id and a.node_id = c.node_id
  where c.released_at is null
  order by c.id
  for update of c
), gone as (
  delete from ${s}.claims c where c.id in (select id from held) returning c.id
)
delete from ${s}.task_runners t where t.claim_id in (select id from gone)`;

/**
 * Writes history rows and releases claims in one statement, one commit.
 *
 * History rows, in array order: $1 task, $2 claim id, $3 scheduled, $4
 * started, $5 finished, $6 status, $7 attempt, $8 node, $9 error message,
 * $10 stack, $11 code, $12 output (JSON text), $13 missed through, $14
 * missed count, $15 fence (a claim id, or null), $16 the fencing claim's
 * node, $17 release (boolean).
 * A row with a fence is written only while its node still holds that claim
 * (not released, not reaped): the claim is locked first, so a reaper and a
 * finishing node never both act on it; with `release` the claim is released
 * in the same commit. Rows without a fence are written as they are.
 * $18 claim ids and $19 their nodes are released without a row.
 *
 * Releasing frees the task's row in `task_runners` and raises the task's
 * release mark to its latest released scheduled time (manual claims leave
 * the mark alone), in task order, so that no two statements wait on each
 * other in a cycle. Returns the array positions (1-based) of the fenced
 * rows that were written.
 */
export const writeRuns = (s: QuotedSchema) => `with input as (
  select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
    $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::timestamptz[], $14::integer[], $15::text[], $16::text[], $17::boolean[])
    with ordinality as r(task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt,
      node_id, error_message, error_stack, error_code, output, missed_through, missed_count, fence,
      fence_node, release, ord)
), asked as (
  select fence as id, fence_node as node_id, release from input where fence is not null
  union all
  select id, node_id, true from unnest($18::text[], $19::text[]) as x(id, node_id)
), held as (
  select c.id from ${s}.claims c join asked a on a.id = c.id and a.node_id = c.node_id
  where c.released_at is null
  order by c.id
  for update of c
), ${recordAndRelease(s, {
  releasing: "c.id in (select id from held) and c.id in (select id from asked where release)",
  keeping: "c.id in (select id from held) and c.id in (select id from asked where not release)",
  rows: "input where fence is null or fence in (select id from held)",
})}
select ord::int as ord from input where fence in (select id from held)`;

/**
 * Records runs that did not start (skipped, missed) for occurrences nobody
 * claimed: $1 task, $2 first occurrence, $3 last (null: just the first), $4
 * status, $5 attempt, $6 node, $7 error message, $8 missed count. A row is
 * written only when no claim of the task falls on its occurrences and either
 * its release mark is before them or none of them has a history row (under
 * the mark, which remembers only the latest released occurrence, an
 * occurrence nobody claimed or recorded is still free; one claimed has a
 * claim row or, once that is pruned, its history row); its last occurrence
 * is then claimed (and released at once, raising the task's release mark)
 * in the same statement, so that no node runs it, nor an occurrence inside
 * a missed range, or records it again. Returns the positions (1-based) of
 * the rows written.
 */
export const settleSlots = (s: QuotedSchema) => `with input as (
  select *, coalesce(last_at, first_at) as key_at
  from unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::integer[],
    $6::text[], $7::text[], $8::integer[])
    with ordinality as r(task_name, first_at, last_at, status, attempt, node_id, error_message,
      missed_count, ord)
), free as (
  select i.* from input i
  where not exists (
    select 1 from ${s}.claims c
    where c.task_name = i.task_name and not c.manual and c.scheduled_at between i.first_at and i.key_at
  ) and not exists (
    select 1 from ${s}.claim_marks m where m.task_name = i.task_name and m.released_through >= i.first_at
      and exists (select 1 from ${s}.runs h
        where h.task_name = i.task_name and h.scheduled_at between i.first_at and i.key_at)
  ) and not exists (
    -- A missed range's claim is on its last occurrence: an occurrence inside it is taken too.
    select 1 from ${s}.runs h
    where h.task_name = i.task_name and h.missed_through is not null
      and h.scheduled_at <= i.key_at and h.missed_through >= i.first_at
  )
), won as (
  insert into ${s}.claims
    (id, task_name, scheduled_at, manual, node_id, claimed_at, lease_expires_at, released_at, exclusive)
  select gen_random_uuid()::text, task_name, key_at, false, node_id, clock_timestamp(), null,
    clock_timestamp(), false
  from free order by task_name, key_at
  on conflict (task_name, scheduled_at) where not manual do nothing
  returning task_name, scheduled_at
), recorded as (
  insert into ${s}.runs (task_name, claim_id, scheduled_at, status, attempt, node_id, error_message,
    missed_through, missed_count)
  select f.task_name, null, f.first_at, f.status, f.attempt, f.node_id, f.error_message, f.last_at,
    f.missed_count
  from free f join won w on w.task_name = f.task_name and w.scheduled_at = f.key_at
  order by f.ord
), marked as (
  -- Released at once, so it moves the release mark as any release does: a key a missed range
  -- covers is then refused by every claim (see recordedUnderMark).${raiseMarks(s, "won")}
)
select f.ord::int as ord from free f join won w on w.task_name = f.task_name and w.scheduled_at = f.key_at`;

/**
 * Records on claim of task $1 with token $2, held by node $3, the process its
 * attempt started: group $4, its leader's start $5 (see Store.recordProcess).
 */
export const recordClaimProcess = (s: QuotedSchema) => `update ${s}.claims
set process_group = $4, process_start = $5
where task_name = $1 and token = $2 and node_id = $3 and released_at is null
returning id`;

/**
 * Reaps claims whose lease expired (or, with $2 = true, every held claim of
 * node $1: a crashed earlier process of this node): selects them with
 * `FOR UPDATE SKIP LOCKED`, so concurrent reapers never return the same
 * claim, and takes each over for node $1 (a new id, fencing token and a lease
 * of $4 ms; the same key, exclusivity, process and claim time, and the node of
 * the attempt it stands for, kept through a reaper that died too), keeping the task's
 * runner row on it. Nothing is released: the reaper's finishRun of the
 * interrupted row does that. At most $3 rows, each with the claim as it was
 * (`was_*`: its node is the attempt's). $5 (null on a call's first batch):
 * the lowest token the call's batches handed out; claims from it on are the
 * call's own takeovers (held by node $1 again) and are not taken twice.
 */
export const reapExpiredClaims = (s: QuotedSchema) => `with due as (
  select id, node_id, claimed_at, lease_expires_at, token, attempt_node from ${s}.claims
  where released_at is null
    and (lease_expires_at < clock_timestamp() or ($2 and node_id = $1))
    and ($5::bigint is null or token < $5)
  order by lease_expires_at
  for update skip locked
  limit $3
), taken as (
  update ${s}.claims c set id = gen_random_uuid()::text, node_id = $1,
    attempt_node = coalesce(c.attempt_node, c.node_id), lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond',
    token = nextval('${s}.claim_tokens'), reaped = true
  from due where c.id = due.id
  returning c.id, c.task_name, c.scheduled_at, c.node_id, c.claimed_at, c.lease_expires_at, c.token,
    c.process_group, c.process_start, due.id as was_id,
    coalesce(due.attempt_node, due.node_id) as was_node_id,
    due.claimed_at as was_claimed_at, due.lease_expires_at as was_lease_expires_at,
    due.token as was_token
), runner as (
  update ${s}.task_runners t set claim_id = x.id from taken x where t.claim_id = x.was_id
)
select * from taken order by scheduled_at`;

const RUN_COLUMNS = `task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt, node_id,
  error_message, error_stack, error_code, output::text as output, missed_through, missed_count`;

/** The newest $1 history rows of every task after the newest $2, of statuses $3 (null: all). */
export const history = (s: QuotedSchema) =>
  `select ${RUN_COLUMNS} from ${s}.runs where ($3::text[] is null or status = any($3::text[]))
  order by id desc limit $1 offset $2`;

/** The same of task $4. */
export const taskHistory = (s: QuotedSchema) =>
  `select ${RUN_COLUMNS} from ${s}.runs where task_name = $4
  and ($3::text[] is null or status = any($3::text[])) order by id desc limit $1 offset $2`;

/**
 * Deletes history rows older than $1 ms (DB clock), beyond the newest $2 rows,
 * or beyond the newest $4[i] rows of task $3[i]; a null bound keeps
 * everything. Returns how many rows went (a row two bounds name counts once).
 */
export const pruneHistory = (s: QuotedSchema) => `with by_age as (
  delete from ${s}.runs
  where $1::bigint is not null
    and coalesce(finished_at, scheduled_at) < clock_timestamp() - $1::bigint * interval '1 millisecond'
  returning id
), by_count as (
  delete from ${s}.runs
  where $2::bigint is not null
    and id <= (select id from ${s}.runs order by id desc offset $2::bigint limit 1)
  returning id
), by_task as (
  delete from ${s}.runs r
  using (
    select l.task_name,
      (select x.id from ${s}.runs x where x.task_name = l.task_name
        order by x.id desc offset l.keep limit 1) as through
    from unnest($3::text[], $4::int[]) as l(task_name, keep)
  ) c
  where r.task_name = c.task_name and r.id <= c.through
  returning r.id
) select count(distinct id)::int as n
  from (select id from by_age union all select id from by_count union all select id from by_task) gone`;

/**
 * Forgets released claims released more than $1 ms ago whose occurrence is
 * covered by the task's release mark (so the key stays unclaimable).
 */
export const pruneClaims = (s: QuotedSchema) => `delete from ${s}.claims c
where c.released_at < clock_timestamp() - $1 * interval '1 millisecond'
  and (c.manual or exists (select 1 from ${s}.claim_marks m
    where m.task_name = c.task_name and c.scheduled_at <= m.released_through))`;

/** Every statement of one schema, rendered once. */
export interface Queries {
  readonly schema: QuotedSchema;
  readonly nowMs: string;
  readonly schemaVersion: string;
  readonly insertTask: string;
  readonly upsertTask: string;
  readonly getTask: string;
  readonly listTasks: string;
  readonly updateTaskProgress: string;
  readonly updateTaskCallback: string;
  readonly deleteTask: string;
  readonly notify: string;
  readonly claimRuns: string;
  readonly lockRunCount: string;
  readonly countRunStarted: string;
  readonly renewLease: string;
  readonly giveBack: string;
  readonly recordClaimProcess: string;
  readonly reapExpiredClaims: string;
  readonly writeRuns: string;
  readonly settleSlots: string;
  readonly history: string;
  readonly taskHistory: string;
  readonly pruneHistory: string;
  readonly pruneClaims: string;
}

/** Renders every statement for `schema` (validated and quoted here). */
export function buildQueries(schema: string): Queries {
  const s = quoteSchema(schema);
  return Object.freeze({
    schema: s,
    nowMs: nowMs(),
    schemaVersion: schemaVersion(s),
    insertTask: insertTask(s),
    upsertTask: upsertTask(s),
    getTask: getTask(s),
    listTasks: listTasks(s),
    updateTaskProgress: updateTaskProgress(s),
    updateTaskCallback: updateTaskCallback(s),
    deleteTask: deleteTask(s),
    notify: notify(),
    claimRuns: claimRuns(s),
    lockRunCount: lockRunCount(s),
    countRunStarted: countRunStarted(s),
    renewLease: renewLease(s),
    giveBack: giveBack(s),
    recordClaimProcess: recordClaimProcess(s),
    reapExpiredClaims: reapExpiredClaims(s),
    writeRuns: writeRuns(s),
    settleSlots: settleSlots(s),
    history: history(s),
    taskHistory: taskHistory(s),
    pruneHistory: pruneHistory(s),
    pruneClaims: pruneClaims(s),
  });
}
