/**
 * PostgreSQL for tests: is the server there, and one schema per test file.
 *
 * The rule: on a machine without PostgreSQL, `npm test` skips the PostgreSQL
 * tests with a visible message; under `CI=true` a missing server is a failure.
 * The server is `ORCHESTRATOR_TEST_PG_URL`, by default
 * postgres://postgres@127.0.0.1:5432/test (trust auth, as .ci/run sets it up).
 */
import { randomBytes } from "node:crypto";
import { after, afterEach, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/** The test server's connection string. */
export const PG_URL =
  process.env.ORCHESTRATOR_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let availability: Promise<string | undefined> | undefined;

/** Why the server cannot be used, or undefined when it answers. Asked once per process. */
function probe(): Promise<string | undefined> {
  availability ??= (async () => {
    // A refused connection fails at once; the timeout only waits for a server slow to answer, as
    // on a loaded machine where several files probe at once (3 s was too short at a load of 30).
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 15_000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("select 1");
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

/** True when the test server answers. */
export async function pgAvailable(): Promise<boolean> {
  return (await probe()) === undefined;
}

/**
 * Call at the top level of a PostgreSQL test file, before its suites:
 * resolves true when the server answers. Otherwise it registers, visibly, a
 * skipped test (plain runs) or a failing one (`CI=true`), and resolves false,
 * so the file registers nothing else.
 */
export async function requirePg(what: string): Promise<boolean> {
  const reason = await probe();
  if (reason === undefined) return true;
  const message = `PostgreSQL is not reachable at ${redact(PG_URL)} (${reason}): ${what} not run`;
  if (process.env.CI === "true") {
    it(`${what}: PostgreSQL must be reachable under CI=true`, () => {
      throw new Error(message);
    });
  } else {
    console.warn(
      `\n⚠ ${message}. Start PostgreSQL (or set ORCHESTRATOR_TEST_PG_URL) to run them.\n`,
    );
    it(what, { skip: message }, () => undefined);
  }
  return false;
}

/**
 * For one test inside a file that does not need PostgreSQL otherwise: why it
 * cannot run (pass to `t.skip`), or undefined when the server answers. Under
 * `CI=true` an unreachable server throws instead, as {@link requirePg} fails.
 */
export async function pgMissing(): Promise<string | undefined> {
  const reason = await probe();
  if (reason === undefined) return undefined;
  const message = `PostgreSQL is not reachable at ${redact(PG_URL)} (${reason})`;
  if (process.env.CI === "true") throw new Error(`${message}: it must be under CI=true`);
  return message;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** A schema of its own for one test file, from {@link withTestSchema}. */
export interface TestSchema {
  /** The schema name, `orch_test_<random>`. */
  readonly name: string;
  /** The server's connection string. */
  readonly connectionString: string;
  /** An admin pool on the test database (not on the schema), ended with the file. */
  readonly admin: pg.Pool;
  /** A further fresh schema name (dropped with this one, on pass), for tests that need a virgin schema. */
  freshName(): string;
}

/**
 * Call inside a `describe`: gives the file its own schema name and drops the
 * schema (and every `freshName`) after the suite, but only when every test in
 * it passed; after a failure the schema is kept, and its name printed, for
 * debugging.
 */
export function withTestSchema(prefix = "orch_test"): TestSchema {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const names = [name];
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on("error", () => undefined);
  let failed = false;
  afterEach((t) => {
    if ("passed" in t && !t.passed) failed = true;
  });
  after(async () => {
    try {
      if (failed) {
        console.warn(`PostgreSQL schemas kept for debugging: ${names.join(", ")}`);
      } else {
        for (const schema of names) await admin.query(`drop schema if exists "${schema}" cascade`);
      }
    } finally {
      await admin.end();
    }
  });
  return {
    name,
    connectionString: PG_URL,
    admin,
    freshName() {
      const fresh = `${name}_${names.length}`;
      names.push(fresh);
      return fresh;
    },
  };
}

/**
 * Polls `condition` until it returns true (or a truthy value, returned), every
 * `intervalMs`, failing after `timeoutMs` with `what`. For waiting on
 * conditions in tests, never for fixed sleeps.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 10 } = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
