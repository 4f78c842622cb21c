import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadFailure } from "../../src/cli/module-checks.js";

function loaderError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("module load failures", () => {
  it("a TypeScript module that Node cannot import says how to run it", () => {
    const error = loaderError(
      "ERR_UNKNOWN_FILE_EXTENSION",
      'Unknown file extension ".ts" for /x/h.ts',
    );
    const text = loadFailure("/x/h.ts", error);
    assert.match(text, /Unknown file extension/);
    assert.match(text, /compile the module to JavaScript.*--import tsx/);
  });

  it("other loader errors are shown without the hint; other errors never show their message", () => {
    assert.doesNotMatch(
      loadFailure("/x/h.mjs", loaderError("ERR_MODULE_NOT_FOUND", "Cannot find package 'p'")),
      /tsx/,
    );
    const secret = loadFailure("/x/h.mjs", new TypeError("token=abc"));
    assert.doesNotMatch(secret, /abc/);
    assert.match(secret, /throws a TypeError/);
  });
});
