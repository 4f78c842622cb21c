import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StoreError } from "../../src/errors.js";
import { storeFailureKind } from "../../src/store/store-failure.js";

function coded(code: string, message = "driver error"): Error {
  return Object.assign(new Error(message), { code });
}

describe("storeFailureKind", () => {
  it("reads the driver's code anywhere in the cause chain", () => {
    const cases: [Error, string][] = [
      [coded("SQLITE_FULL"), "full"],
      [coded("SQLITE_CORRUPT"), "corrupt"],
      [coded("SQLITE_CORRUPT_INDEX"), "corrupt"],
      [coded("SQLITE_NOTADB"), "corrupt"],
      [coded("SQLITE_READONLY_DBMOVED"), "read-only"],
      [coded("SQLITE_BUSY"), "locked"],
      [coded("SQLITE_IOERR_WRITE"), "io"],
      [coded("SQLITE_CONSTRAINT_UNIQUE"), "other"],
      [coded("53100"), "full"],
      [coded("XX001"), "corrupt"],
      [coded("25006"), "read-only"],
      [coded("57P01"), "unreachable"],
      [coded("08006"), "unreachable"],
      [coded("ECONNREFUSED"), "unreachable"],
      [coded("ENOSPC"), "full"],
      [new Error("Connection terminated unexpectedly"), "unreachable"],
      [new Error("something else"), "other"],
    ];
    for (const [driver, kind] of cases) {
      const wrapped = new StoreError("Could not claim 1 runs", { cause: driver });
      assert.equal(storeFailureKind(wrapped), kind, String((driver as { code?: string }).code));
      assert.equal(storeFailureKind(new StoreError("outer", { cause: wrapped })), kind);
    }
    assert.equal(storeFailureKind(undefined), "other");
    assert.equal(storeFailureKind("text"), "other");
  });
});
