/**
 * A private PostgreSQL server for the fault-injection suite: its own data
 * directory (under the suite's work directory) and its own port, so that the
 * suite can restart it, crash it and kill it without touching any other
 * server. `initdb` and `postgres` refuse to run as root, so every server
 * command runs as the `postgres` OS user (through `runuser`, else `su`) when
 * the suite runs as root.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import pg from "pg";
import { onCleanup } from "./cleanup.js";

const run = promisify(execFile);

/** Server settings: durable commits (a crash must not lose a committed claim), no fsync (the OS survives). */
const SERVER_SETTINGS = [
  "listen_addresses=127.0.0.1",
  "fsync=off",
  "full_page_writes=off",
  "max_connections=300",
  "shared_buffers=64MB",
  "log_min_messages=warning",
  "log_connections=off",
];

/** How long any one server command (initdb, start, stop) may take, in ms. */
const COMMAND_TIMEOUT_MS = 60_000;

/** A free TCP port on 127.0.0.1 (taken by the OS, then released). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How to run a command as the `postgres` user: `runuser -u postgres --`, `su postgres -c`, or directly. */
function asPostgres(file: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [file, [...args]];
  if (existsSync("/usr/sbin/runuser") || existsSync("/sbin/runuser")) {
    return ["runuser", ["-u", "postgres", "--", file, ...args]];
  }
  const quoted = [file, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return ["su", ["postgres", "-s", "/bin/sh", "-c", quoted]];
}

/** Where the suite looks for PostgreSQL's binaries when PG_BIN is not set. */
export const PG_BIN_PLACES = "/usr/local/bin, /usr/bin, /usr/lib/postgresql/*/bin";

/** The directory of `initdb`, `pg_ctl` and `postgres`: PG_BIN, else the first one found, else undefined. */
export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  for (const dir of ["/usr/local/bin", "/usr/bin"]) {
    if (existsSync(join(dir, "pg_ctl")) && existsSync(join(dir, "initdb"))) return dir;
  }
  const versions = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    const dir = join("/usr/lib/postgresql", version, "bin");
    if (existsSync(join(dir, "pg_ctl"))) return dir;
  }
  return undefined;
}

function binDir(): string {
  const dir = findPostgresBin();
  if (dir === undefined) {
    throw new Error(
      `PostgreSQL binaries (initdb, pg_ctl) not found in ${PG_BIN_PLACES}; set PG_BIN`,
    );
  }
  return dir;
}

/** True while `pid` is a process that is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The pids of the processes whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** One private server: `init()` once, then `start()`, `restart()`, `crash()`, `kill9()`, `stop()`. */
export class PostgresInstance {
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  port = 0;
  readonly #bin = binDir();
  readonly #settings: readonly string[];
  #running = false;

  /**
   * `root` is a directory of the suite's; the server's files go in `root/pg` (owned by postgres).
   * `settings` (`name=value`) come after the suite's own, so they override them (the cluster benchmark's durable commits).
   */
  constructor(root: string, settings: readonly string[] = []) {
    this.#settings = settings;
    this.dir = join(root, "pg");
    this.dataDir = join(this.dir, "data");
    this.logFile = join(this.dir, "server.log");
  }

  /** The connection string of database `postgres` as user `postgres` (trust). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates the data directory with initdb, picks a port, and makes sure the server dies with the suite. */
  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o700);
    if (process.getuid?.() === 0) {
      const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
      const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
      chownSync(this.dir, uid, gid);
    }
    await this.#pg("initdb", [
      "-D",
      this.dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    this.port = await freePort();
    onCleanup(() => void this.killSync());
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      ...[...SERVER_SETTINGS, ...this.#settings].map((setting) => `-c ${setting}`),
    ].join(" ");
    await this.#pg("pg_ctl", [
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      "30",
      "-o",
      options,
      "start",
    ]);
    this.#running = true;
  }

  /** Stops the server: `fast` (clients cut, clean shutdown) or `immediate` (a crash: recovery at the next start). */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    if (!this.#running && this.postmasterPid() === undefined) return;
    await this.#pg("pg_ctl", ["-D", this.dataDir, "-m", mode, "-w", "-t", "30", "stop"]);
    this.#running = false;
  }

  /** Fast stop, then start: every connection is cut, the server is away for a moment. */
  async restart(): Promise<void> {
    await this.stop("fast");
    await this.start();
  }

  /** Immediate stop (a crash: no checkpoint, crash recovery at start), then start. */
  async crash(): Promise<void> {
    await this.stop("immediate");
    await this.start();
  }

  /**
   * SIGKILL to the postmaster and every backend, then start again (crash
   * recovery). The dead postmaster may stay a zombie (no init reaps it in a
   * container), which `postgres` would take for a live one: its lock files go.
   */
  async kill9(): Promise<void> {
    const pids = this.killSync();
    const deadline = Date.now() + 10_000;
    while (pids.some(running) && Date.now() < deadline) await sleep(20);
    // Its lock files stay behind too (the data directory's and the socket's).
    rmSync(join(this.dataDir, "postmaster.pid"), { force: true });
    rmSync(join(this.dir, `.s.PGSQL.${this.port}.lock`), { force: true });
    rmSync(join(this.dir, `.s.PGSQL.${this.port}`), { force: true });
    await this.start();
  }

  /** Starts the server again if it does not answer (after a scenario that failed half way). */
  async ensureRunning(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return;
    } catch {
      await this.kill9();
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The postmaster's pid from postmaster.pid, if the file is there. */
  postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Kills the postmaster and its children with SIGKILL, synchronously (also used at exit); returns their pids. */
  killSync(): number[] {
    const pid = this.postmasterPid();
    if (pid === undefined) return [];
    const targets = [pid, ...childrenOf(pid)];
    for (const target of targets) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone already
      }
    }
    this.#running = false;
    return targets;
  }

  /**
   * Terminates the backends whose `application_name` starts with `prefix`
   * (`pg_terminate_backend`), from a connection of its own; resolves with how many.
   */
  async terminateBackends(prefix: string): Promise<number> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 3000,
      query_timeout: 10_000,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      const result = await client.query<{ n: number }>(
        `select count(*)::int as n from (
           select pg_terminate_backend(pid) from pg_stat_activity
           where application_name like $1 and pid <> pg_backend_pid()) t`,
        [`${prefix}%`],
      );
      return result.rows[0]?.n ?? 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async #pg(program: string, args: readonly string[]): Promise<void> {
    const [file, argv] = asPostgres(join(this.#bin, program), args);
    try {
      await run(file, argv, { timeout: COMMAND_TIMEOUT_MS, cwd: "/" });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${program} failed: ${e.stderr || e.stdout || e.message}`.trim(), {
        cause: error,
      });
    }
  }
}
