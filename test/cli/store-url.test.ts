/**
 * `--store` (src/cli/store-url.ts): SQLite paths, PostgreSQL URLs and the
 * store's options in them (the store made from one: test/store/postgres-history.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStoreUrl } from "../../src/cli/store-url.js";
import { InvalidArgumentError } from "../../src/errors.js";

describe("--store", () => {
  it("reads SQLite paths against the working directory", () => {
    assert.deepEqual(parseStoreUrl("sqlite:./a.db", "/srv"), { kind: "sqlite", path: "/srv/a.db" });
    assert.deepEqual(parseStoreUrl("/var/b.sqlite", "/srv"), {
      kind: "sqlite",
      path: "/var/b.sqlite",
    });
  });

  it("takes schema and historyPartitionHours out of a PostgreSQL URL, leaving the driver's parameters", () => {
    assert.deepEqual(
      parseStoreUrl(
        "postgres://app@db:5432/app?schema=jobs&historyPartitionHours=6&sslmode=require",
      ),
      {
        kind: "postgres",
        connectionString: "postgres://app@db:5432/app?sslmode=require",
        schema: "jobs",
        historyPartitionHours: 6,
      },
    );
    assert.deepEqual(parseStoreUrl("postgresql://db/app"), {
      kind: "postgres",
      connectionString: "postgresql://db/app",
    });
  });

  it("refuses a historyPartitionHours that is not a whole number of hours from 1 to 8784, naming --store", () => {
    for (const bad of ["0", "1.5", "8785", "six", ""]) {
      assert.throws(
        () => parseStoreUrl(`postgres://db/app?historyPartitionHours=${bad}`),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.argument === "--store" &&
          /historyPartitionHours is a whole number of hours from 1 to 8784/.test(error.message),
        bad,
      );
    }
  });
});
