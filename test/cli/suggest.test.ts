import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { editDistance, suggest } from "../../src/cli/suggest.js";

void describe("did-you-mean", () => {
  void it("counts an adjacent swap as one edit", () => {
    assert.equal(editDistance("GTE", "GET"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
  });

  void it("suggests close keys, ignoring a missing Ms unit, and nothing for far ones", () => {
    const keys = ["schedule", "timeoutMs", "retries", "jitterMs"];
    assert.equal(suggest("schedul", keys), "schedule");
    assert.equal(suggest("timeout", keys), "timeoutMs");
    assert.equal(suggest("retry", keys), "retries");
    assert.equal(suggest("jitter", keys), "jitterMs");
    assert.equal(suggest("colour", keys), undefined);
  });
});
