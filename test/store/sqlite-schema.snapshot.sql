-- The SQLite store's schema at version 10, as sqlite_master holds it.
-- Checked by test/store/sqlite-store.test.ts; rewrite with UPDATE_SNAPSHOTS=1 after adding a migration.

-- table audit_log
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  task_name TEXT,
  result TEXT NOT NULL CHECK (result IN ('ok', 'failed', 'refused')),
  detail TEXT
) STRICT;

-- table cancel_requests
CREATE TABLE cancel_requests (
  task_name TEXT PRIMARY KEY NOT NULL,
  requested_at INTEGER NOT NULL,
  actor TEXT NOT NULL
) STRICT;

-- table claim_marks
CREATE TABLE claim_marks (
  task_name TEXT PRIMARY KEY NOT NULL,
  released_through INTEGER NOT NULL
) STRICT;

-- table claim_tokens
CREATE TABLE claim_tokens (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  last INTEGER NOT NULL
) STRICT;

-- table claims
CREATE TABLE claims (
  id TEXT PRIMARY KEY NOT NULL,
  task_name TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  manual INTEGER NOT NULL CHECK (manual IN (0, 1)),
  node_id TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  exclusive INTEGER NOT NULL CHECK (exclusive IN (0, 1))
, token INTEGER NOT NULL DEFAULT 0, process_group INTEGER, process_start TEXT, attempt_node TEXT) STRICT;

-- table nodes
CREATE TABLE nodes (
  node_id TEXT PRIMARY KEY NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  lease_ms INTEGER NOT NULL CHECK (lease_ms > 0),
  generation INTEGER NOT NULL
) STRICT;

-- table notification_outbox
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

-- table run_counts
CREATE TABLE run_counts (
  task_name TEXT PRIMARY KEY,
  started INTEGER NOT NULL
) STRICT;

-- table run_history
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
, output TEXT, missed_through INTEGER, missed_count INTEGER) STRICT;

-- table schedule_files
CREATE TABLE schedule_files (
  source TEXT PRIMARY KEY NOT NULL,
  node_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  stopped_at INTEGER
) STRICT;

-- table schema_migrations
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT;

-- table settled_slots
CREATE TABLE settled_slots (
  task_name TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  PRIMARY KEY (task_name, scheduled_at)
) STRICT, WITHOUT ROWID;

-- table task_origins
CREATE TABLE task_origins (
  task_name TEXT PRIMARY KEY NOT NULL,
  source TEXT NOT NULL,
  node_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  task_created_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;

-- table tasks
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

-- index audit_log_at
CREATE INDEX audit_log_at ON audit_log (at);

-- index audit_log_task_seq
CREATE INDEX audit_log_task_seq ON audit_log (task_name, seq DESC);

-- index claims_task_exclusive
CREATE UNIQUE INDEX claims_task_exclusive ON claims (task_name) WHERE exclusive = 1;

-- index claims_task_scheduled
CREATE UNIQUE INDEX claims_task_scheduled ON claims (task_name, scheduled_at) WHERE manual = 0;

-- index notification_outbox_due
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
  WHERE status IN ('pending', 'sending');

-- index notification_outbox_window
CREATE INDEX notification_outbox_window ON notification_outbox (task_name, channel, finished_at);

-- index run_history_aged_at
CREATE INDEX run_history_aged_at ON run_history (aged_at);

-- index run_history_missed_range
CREATE INDEX run_history_missed_range ON run_history (task_name, missed_through)
  WHERE missed_through IS NOT NULL;

-- index run_history_task_scheduled
CREATE INDEX run_history_task_scheduled ON run_history (task_name, scheduled_at);

-- index run_history_task_seq
CREATE INDEX run_history_task_seq ON run_history (task_name, seq DESC);
