import type { Database } from "better-sqlite3";
import { StoreError } from "../../errors.js";
import {
  CREATE_MIGRATIONS_TABLE,
  INSERT_MIGRATION,
  MIGRATIONS_TABLE_EXISTS,
  SELECT_SCHEMA_VERSION,
} from "./queries.js";

/** One schema change, embedded in code (never read from disk at runtime). */
export interface Migration {
  /** 1, 2, 3, …: applied in order, each exactly once. */
  readonly version: number;
  /** A short description, recorded in `schema_migrations`. */
  readonly name: string;
  /** The DDL, run as one script inside the migrating transaction. */
  readonly sql: string;
}

/**
 * Every migration of the SQLite schema, oldest first. Never edit a released
 * migration: add a new one. The drift test compares the result with
 * `test/store/sqlite-schema.snapshot.sql`.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: "tasks, claims, claim marks, run history",
    sql: `
CREATE TABLE tasks (
  name TEXT PRIMARY KEY NOT NULL,
  schedule TEXT NOT NULL,
  options TEXT NOT NULL,
  callback_encoding TEXT NOT NULL,
  callback_key_id TEXT,
  callback_bytes BLOB,
  callback_json TEXT,
  state TEXT NOT NULL,
  next_run_at INTEGER,
  last_run_at INTEGER,
  last_status TEXT,
  run_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  CHECK (
    (callback_encoding = 'sealed' AND callback_key_id IS NOT NULL AND callback_bytes IS NOT NULL AND callback_json IS NULL)
    OR (callback_encoding = 'plain' AND callback_json IS NOT NULL AND callback_key_id IS NULL AND callback_bytes IS NULL)
  )
) STRICT;

-- Only unreleased claims: a release deletes the row and raises the task's claim mark.
-- The table stays as small as the runs in flight, so reaping scans it without an index.
CREATE TABLE claims (
  id TEXT PRIMARY KEY NOT NULL,
  task_name TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  manual INTEGER NOT NULL CHECK (manual IN (0, 1)),
  node_id TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  exclusive INTEGER NOT NULL CHECK (exclusive IN (0, 1))
) STRICT;

CREATE UNIQUE INDEX claims_task_scheduled ON claims (task_name, scheduled_at) WHERE manual = 0;
CREATE UNIQUE INDEX claims_task_exclusive ON claims (task_name) WHERE exclusive = 1;

CREATE TABLE claim_marks (
  task_name TEXT PRIMARY KEY NOT NULL,
  released_through INTEGER NOT NULL
) STRICT;

CREATE TABLE run_history (
  seq INTEGER PRIMARY KEY,
  task_name TEXT NOT NULL,
  claim_id TEXT,
  scheduled_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  error TEXT,
  aged_at INTEGER GENERATED ALWAYS AS (coalesce(finished_at, scheduled_at)) VIRTUAL
) STRICT;

CREATE INDEX run_history_task_seq ON run_history (task_name, seq DESC);
CREATE INDEX run_history_aged_at ON run_history (aged_at);
`,
  },
  {
    version: 2,
    name: "run output",
    sql: `
ALTER TABLE run_history ADD COLUMN output TEXT;
`,
  },
  {
    version: 3,
    name: "audit log, schedule files, task origins",
    sql: `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  task_name TEXT,
  result TEXT NOT NULL CHECK (result IN ('ok', 'failed', 'refused')),
  detail TEXT
) STRICT;

CREATE INDEX audit_log_task_seq ON audit_log (task_name, seq DESC);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE schedule_files (
  source TEXT PRIMARY KEY NOT NULL,
  node_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  stopped_at INTEGER
) STRICT;

CREATE TABLE task_origins (
  task_name TEXT PRIMARY KEY NOT NULL,
  source TEXT NOT NULL,
  node_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  task_created_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 4,
    name: "fencing tokens, settled occurrences, summarised missed runs",
    sql: `
-- One row: the last fencing token granted (claims take the next ones).
CREATE TABLE claim_tokens (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  last INTEGER NOT NULL
) STRICT;
INSERT INTO claim_tokens (id, last) VALUES (1, 0);

ALTER TABLE claims ADD COLUMN token INTEGER NOT NULL DEFAULT 0;

-- Occurrences recorded skipped or missed without a run: no one may claim them
-- (deleted once the task's claim mark passes them).
CREATE TABLE settled_slots (
  task_name TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  PRIMARY KEY (task_name, scheduled_at)
) STRICT, WITHOUT ROWID;

ALTER TABLE run_history ADD COLUMN missed_through INTEGER;
ALTER TABLE run_history ADD COLUMN missed_count INTEGER;
`,
  },
  {
    version: 5,
    name: "the process group of a claim's attempt",
    sql: `
-- Set by recordProcess while the attempt runs (a command's process group and
-- its leader's start time), so that a restarted daemon can stop it.
ALTER TABLE claims ADD COLUMN process_group INTEGER;
ALTER TABLE claims ADD COLUMN process_start TEXT;
`,
  },
  {
    version: 6,
    name: "notification outbox",
    sql: `
-- One row per message and channel; the unique key makes each change of state
-- enqueued once, however many nodes saw it.
CREATE TABLE notification_outbox (
  id INTEGER PRIMARY KEY,
  task_name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('failure', 'recovery', 'missed', 'stuck')),
  change_id TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  lease_until INTEGER,
  finished_at INTEGER,
  last_error TEXT,
  UNIQUE (task_name, kind, change_id, channel)
) STRICT;

CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
  WHERE status IN ('pending', 'sending');
CREATE INDEX notification_outbox_window ON notification_outbox (task_name, channel, finished_at);
`,
  },
  {
    version: 7,
    name: "cancel requests",
    sql: `
-- orchestrator cancel <task>: one pending request per task, taken by the daemon running it.
CREATE TABLE cancel_requests (
  task_name TEXT PRIMARY KEY NOT NULL,
  requested_at INTEGER NOT NULL,
  actor TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 8,
    name: "runs started per task, for maxRuns across processes",
    sql: `
-- Raised by a claim of a task with a finite maxRuns, in the claim's
-- transaction, only while below it: maxRuns counts across every process.
CREATE TABLE run_counts (
  task_name TEXT PRIMARY KEY,
  started INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 9,
    name: "history by occurrence, for late settles; the attempt's node of a claim taken over",
    sql: `
-- settleSlots asks whether an occurrence at or before the task's claim mark has a
-- row (claimed and recorded, or settled) before it records a late skip or miss.
CREATE INDEX run_history_task_scheduled ON run_history (task_name, scheduled_at);
-- and which missed ranges cover an occurrence (few rows: consecutive misses are one row).
CREATE INDEX run_history_missed_range ON run_history (task_name, missed_through)
  WHERE missed_through IS NOT NULL;

-- The node whose attempt a claim taken over by a reap stood for (null while its holder's
-- own attempt runs): a reaper that dies before recording it passes it on to the next.
ALTER TABLE claims ADD COLUMN attempt_node TEXT;
`,
  },
  {
    version: 10,
    name: "nodes: membership with heartbeats, for sharing the work",
    sql: `
-- One row per node id: written at every heartbeat (the machine's clock), deleted when the node stops.
CREATE TABLE nodes (
  node_id TEXT PRIMARY KEY NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  lease_ms INTEGER NOT NULL CHECK (lease_ms > 0),
  generation INTEGER NOT NULL
) STRICT;
`,
  },
] satisfies Migration[]);

/** The schema version this code writes: the last migration's. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Brings the database to {@link LATEST_SCHEMA_VERSION} in one `BEGIN
 * IMMEDIATE` transaction: the first process to take the write lock migrates,
 * the others wait (busy timeout) and then find nothing to do. Refuses a
 * database written by a newer version. Returns the schema version.
 */
export function migrate(
  db: Database,
  nowMs: number,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const run = db.transaction((): number => {
    db.exec(CREATE_MIGRATIONS_TABLE);
    const current = (db.prepare(SELECT_SCHEMA_VERSION).get() as { version: number }).version;
    if (current > latest) {
      throw new StoreError(
        `The SQLite database is at schema version ${current}, newer than this version of orchestrator knows (${latest}); upgrade orchestrator`,
      );
    }
    const insert = db.prepare(INSERT_MIGRATION);
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      insert.run({ version: migration.version, name: migration.name, appliedAt: nowMs });
    }
    return latest;
  });
  return run.immediate();
}

/** The schema version recorded in the database (0 when never migrated). */
export function readSchemaVersion(db: Database): number {
  const exists = db.prepare(MIGRATIONS_TABLE_EXISTS).get();
  if (exists === undefined) return 0;
  return (db.prepare(SELECT_SCHEMA_VERSION).get() as { version: number }).version;
}
