/**
 * The cluster benchmark's view of PostgreSQL and of processes: a private
 * server started for the benchmark (chaos/postgres-instance.ts, with
 * `pg_stat_statements` preloaded and the shared server's durability:
 * `fsync=on`, `full_page_writes=on`, 128 MB of shared buffers), or the server
 * of `BENCH_PG_URL` when that is set; and snapshots whose differences give a
 * window's statements (`pg_stat_statements` calls, when the extension
 * answers), commits (`pg_stat_database.xact_commit`, which backends
 * report at most once a second: use windows of seconds), write transactions
 * (transaction ids assigned: exact), WAL bytes
 * (`pg_current_wal_lsn()`) and CPU (utime + stime from /proc of the
 * postmaster and every child of it, plus the postmaster's cutime + cstime,
 * which holds the CPU of backends that exited).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { PostgresInstance, findPostgresBin } from "../chaos/postgres-instance.js";

/** Clock ticks per second of /proc's CPU times. */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** /proc/<pid>/stat fields after the command name (field 3 is index 0). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds used by `pid` (utime + stime; with `children`, plus cutime + cstime); 0 when it is gone. */
export function cpuSeconds(pid: number, children = false): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size of `pid` in bytes (VmRSS), 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds of a PostgreSQL server: its postmaster, its live children, and the children it reaped. */
function serverCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f !== undefined && Number(f[1]) === postmaster) total += cpuSeconds(Number(entry));
  }
  return total;
}

/** One reading of the server's counters. */
export interface PgSnapshot {
  readonly atMs: number;
  /** Sum of `pg_stat_statements` calls in this database (NaN without the extension). */
  readonly statements: number;
  readonly commits: number;
  /** The next transaction id (`pg_snapshot_xmax`): its difference counts write transactions, exactly and at once. */
  readonly xids: number;
  /** `pg_current_wal_lsn()` as a byte position. */
  readonly walBytes: number;
  /** CPU seconds of the server's processes (NaN when its processes are not visible here). */
  readonly cpuSeconds: number;
}

/** A window's work, from two snapshots. */
export interface PgDelta {
  readonly seconds: number;
  readonly statements: number;
  readonly commits: number;
  readonly xids: number;
  readonly walBytes: number;
  readonly cpuSeconds: number;
}

/** One line of `pg_stat_statements`: calls, total and mean ms, the text shortened. */
export interface TopStatement {
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly query: string;
}

/** The server the benchmark runs on, and how it reads its counters. */
export class PgTarget {
  readonly url: string;
  /** How statements are counted, for the output. */
  statementSource = "not counted (pg_stat_statements unavailable)";
  readonly #admin: pg.Pool;
  readonly #instance: PostgresInstance | undefined;
  readonly #root: string | undefined;
  #postmaster: number | undefined;
  #hasStatements = false;

  private constructor(url: string, instance?: PostgresInstance, root?: string) {
    this.url = url;
    this.#instance = instance;
    this.#root = root;
    this.#admin = new pg.Pool({ connectionString: url, max: 2 });
    this.#admin.on("error", () => undefined);
  }

  /** A private server when PostgreSQL's binaries are here and no BENCH_PG_URL is set; else the given or shared one. */
  static async open(fallbackUrl: string): Promise<PgTarget> {
    if (process.env.BENCH_PG_URL === undefined && findPostgresBin() !== undefined) {
      const root = mkdtempSync(join(tmpdir(), "orchestrator-bench-pg-"));
      chmodSync(root, 0o755);
      const instance = new PostgresInstance(root, [
        "fsync=on",
        "full_page_writes=on",
        "shared_buffers=128MB",
        "shared_preload_libraries=pg_stat_statements",
        "pg_stat_statements.max=1000",
      ]);
      try {
        await instance.init();
        await instance.start();
        const target = new PgTarget(instance.url, instance, root);
        await target.#prepare();
        return target;
      } catch (error) {
        instance.killSync();
        rmSync(root, { recursive: true, force: true });
        console.error(`bench: no private PostgreSQL (${String(error)}); using ${fallbackUrl}`);
      }
    }
    const target = new PgTarget(process.env.BENCH_PG_URL ?? fallbackUrl);
    await target.#prepare();
    return target;
  }

  /** Private server, or shared: for the output. */
  get description(): string {
    return this.#instance !== undefined
      ? `a private PostgreSQL started for the benchmark (port ${this.#instance.port}, fsync on, pg_stat_statements preloaded)`
      : `the server at ${this.url.replace(/\/\/[^@]*@/, "//")} (shared: other clients' work is counted too)`;
  }

  get admin(): pg.Pool {
    return this.#admin;
  }

  async #prepare(): Promise<void> {
    const version = await this.#admin.query<{ v: string; pid: number }>(
      "select current_setting('server_version') as v, pg_backend_pid() as pid",
    );
    const backend = version.rows[0]?.pid;
    this.#postmaster =
      this.#instance?.postmasterPid() ??
      (backend === undefined ? undefined : Number(statFields(backend)?.[1]) || undefined);
    try {
      await this.#admin.query("create extension if not exists pg_stat_statements");
      await this.#admin.query("select pg_stat_statements_reset()");
      this.#hasStatements = true;
      this.statementSource = "server side (pg_stat_statements calls)";
    } catch {
      this.#hasStatements = false;
    }
  }

  /** Server version and settings that shape the figures, for the header. */
  async settings(): Promise<string> {
    const result = await this.#admin.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in
       ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections')
       order by name`,
    );
    return result.rows.map((r) => `${r.name}=${r.setting}`).join(", ");
  }

  async snapshot(): Promise<PgSnapshot> {
    const statements = this.#hasStatements
      ? "(select coalesce(sum(calls), 0)::float8 from pg_stat_statements where dbid = d.datid and query not like '%pg_stat%')"
      : "'NaN'::float8";
    const result = await this.#admin.query<{ s: number; c: number; x: number; w: number }>(
      `select ${statements} as s, d.xact_commit::float8 as c,
              pg_snapshot_xmax(pg_current_snapshot())::text::float8 as x,
              pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 as w
       from pg_stat_database d where d.datname = current_database()`,
    );
    const row = result.rows[0];
    return {
      atMs: performance.now(),
      statements: row?.s ?? NaN,
      commits: row?.c ?? NaN,
      xids: row?.x ?? NaN,
      walBytes: row?.w ?? NaN,
      cpuSeconds: this.#postmaster === undefined ? NaN : serverCpuSeconds(this.#postmaster),
    };
  }

  /** The costliest statements since the last reset (by total time), named by what they write. */
  async topStatements(limit: number): Promise<TopStatement[]> {
    if (!this.#hasStatements) return [];
    const result = await this.#admin.query<{
      calls: number;
      total: number;
      mean: number;
      query: string;
    }>(
      `select calls::float8 as calls, total_exec_time as total, mean_exec_time as mean, query
       from pg_stat_statements
       where dbid = (select oid from pg_database where datname = current_database())
         and query not like '%pg_stat%'
       order by total_exec_time desc limit $1`,
      [limit],
    );
    return result.rows.map((r) => ({
      calls: r.calls,
      totalMs: r.total,
      meanMs: r.mean,
      query: describeStatement(r.query),
    }));
  }

  async resetStatements(): Promise<void> {
    if (this.#hasStatements) await this.#admin.query("select pg_stat_statements_reset()");
  }

  /** Stops a private server and removes its files. */
  async close(): Promise<void> {
    await this.#admin.end().catch(() => undefined);
    if (this.#instance !== undefined) {
      await this.#instance.stop("immediate").catch(() => this.#instance?.killSync());
      if (this.#root !== undefined) rmSync(this.#root, { recursive: true, force: true });
    }
  }
}

/** What a statement writes (`update claims, insert runs`), else its first words. */
export function describeStatement(query: string): string {
  const writes = new Set<string>();
  for (const m of query.matchAll(/\b(insert into|update|delete from)\s+(?:"?\w+"?\.)?"?(\w+)"?/gi))
    writes.add(`${(m[1] ?? "").split(" ")[0]?.toLowerCase()} ${m[2]}`);
  const text = writes.size > 0 ? [...writes].join(", ") : query.replace(/\s+/g, " ");
  return text.slice(0, 80);
}

export function delta(from: PgSnapshot, to: PgSnapshot): PgDelta {
  return {
    seconds: (to.atMs - from.atMs) / 1000,
    statements: to.statements - from.statements,
    commits: to.commits - from.commits,
    xids: to.xids - from.xids,
    walBytes: to.walBytes - from.walBytes,
    cpuSeconds: to.cpuSeconds - from.cpuSeconds,
  };
}
