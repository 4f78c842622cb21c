import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RETRY_DEFAULTS, retryDelayMs, shouldRetry } from "../../src/core/retry.js";
import { NonRetryableError } from "../../src/errors.js";

describe("retry policy", () => {
  const policy = { attempts: 3, backoffMs: 100, factor: 3, maxBackoffMs: 1_000 };

  it("grows the delay exponentially up to maxBackoffMs", () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => retryDelayMs(policy, n)),
      [100, 300, 900, 1_000],
    );
  });
  it("caps the delay at 30 days whatever a stored policy says (a retry past Date's range never came)", () => {
    const stored = {
      attempts: 1,
      backoffMs: Number.MAX_SAFE_INTEGER,
      factor: 2,
      maxBackoffMs: Number.MAX_SAFE_INTEGER,
    };
    assert.equal(retryDelayMs(stored, 1), 30 * 86_400_000);
    assert.equal(
      retryDelayMs({ ...stored, backoffMs: 5, factor: Number.MAX_VALUE }, 3),
      30 * 86_400_000,
    );
  });
  it("retries until attempts are used up", () => {
    assert.ok(shouldRetry(policy, 1, new Error("x")));
    assert.ok(shouldRetry(policy, 3, new Error("x")));
    assert.ok(!shouldRetry(policy, 4, new Error("x")));
  });
  it("never retries a NonRetryableError", () => {
    assert.ok(!shouldRetry(policy, 1, new NonRetryableError("stop")));
  });
  it("has frozen defaults that never retry", () => {
    assert.ok(Object.isFrozen(RETRY_DEFAULTS));
    assert.ok(!shouldRetry(RETRY_DEFAULTS, 1, new Error("x")));
  });
});
