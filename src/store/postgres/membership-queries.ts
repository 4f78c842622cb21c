/**
 * The SQL of the PostgreSQL store's membership (the `nodes` table of
 * migration 10) and of the read that comes before taking over a run, split
 * from queries.ts. Each is a function of the quoted schema, rendered once per
 * store by {@link buildMembershipQueries}.
 */
import { recordedUnderMark } from "./claim-mark.js";
import type { QuotedSchema } from "./queries.js";

/**
 * Writes node $1's heartbeat (lease $2 ms, $3 whether it holds its node id's
 * advisory lock; $4 a first beat: a new `started_at` and generation) and
 * returns the live nodes: every other node whose heartbeat is younger than
 * its own lease and, when it holds its node lock, whose lock is still held
 * (the key `orchestrator.node.<schema $5>.<node id>` of `node-lock.ts`: a
 * killed process's session, and its lock, end with it), then this node.
 */
export const beatNode = (s: QuotedSchema) => `with beat as (
  insert into ${s}.nodes as n (node_id, started_at, heartbeat_at, lease_ms, locked, generation)
  values ($1, clock_timestamp(), clock_timestamp(), $2, $3, 1)
  on conflict (node_id) do update set
    heartbeat_at = excluded.heartbeat_at, lease_ms = excluded.lease_ms, locked = excluded.locked,
    started_at = case when $4 then excluded.started_at else n.started_at end,
    generation = n.generation + case when $4 then 1 else 0 end
  returning node_id
), held as (
  select (l.classid::bigint << 32) | l.objid::bigint as key
  from pg_locks l
  where l.locktype = 'advisory' and l.granted and l.objsubid = 1
    and l.database = (select oid from pg_database where datname = current_database())
)
select n.node_id from ${s}.nodes n
where n.node_id <> $1
  and n.heartbeat_at > clock_timestamp() - n.lease_ms * interval '1 millisecond'
  and (not n.locked or exists (
    select 1 from held h where h.key = hashtextextended('orchestrator.node.' || $5 || '.' || n.node_id, 0)))
union all select node_id from beat`;

/** Removes node $1 from the membership. */
export const leaveNode = (s: QuotedSchema) => `delete from ${s}.nodes where node_id = $1`;

/**
 * The ordinals of the keys ($1 task names, $2 scheduled times) whose run was
 * claimed already: a claim row (held or released), or the task's release mark
 * at or after it with the key recorded (settled slots are claims too; see
 * `recordedUnderMark`).
 */
export const takenRuns = (s: QuotedSchema) => `select r.ord::int as ord
from unnest($1::text[], $2::timestamptz[]) with ordinality as r(task_name, scheduled_at, ord)
where exists (
    select 1 from ${s}.claims c
    where c.task_name = r.task_name and c.scheduled_at = r.scheduled_at and not c.manual)
  or exists (
    select 1 from ${s}.claim_marks m
    where m.task_name = r.task_name and m.released_through >= r.scheduled_at
      and ${recordedUnderMark(s, "r")})`;

export type MembershipQueryName = "beatNode" | "leaveNode" | "takenRuns";
export type MembershipQueries = Readonly<Record<MembershipQueryName, string>>;

/** Every membership query rendered for `schema`. */
export function buildMembershipQueries(schema: QuotedSchema): MembershipQueries {
  return Object.freeze({
    beatNode: beatNode(schema),
    leaveNode: leaveNode(schema),
    takenRuns: takenRuns(schema),
  });
}
