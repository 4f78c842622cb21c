import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkDashboardTokens, MIN_NETWORK_TOKEN_LENGTH } from "../../src/cli/dashboard-token.js";

const LONG = "x".repeat(MIN_NETWORK_TOKEN_LENGTH);
const SHORT = "short-token-20-chars";

describe("checkDashboardTokens", () => {
  it("accepts any token on a loopback address, and a name that resolves to loopback only", async () => {
    await checkDashboardTokens({ admin: SHORT, readOnly: SHORT }, "127.0.0.1");
    await checkDashboardTokens({ admin: SHORT, readOnly: undefined }, "[::1]");
    await checkDashboardTokens({ admin: SHORT, readOnly: undefined }, "localhost");
  });

  it("refuses a short admin or read-only token on a network address, naming the variable and never the value", async () => {
    await assert.rejects(
      checkDashboardTokens({ admin: SHORT, readOnly: undefined }, "0.0.0.0"),
      (error: Error) =>
        /ORCHESTRATOR_TOKEN/.test(error.message) &&
        /20 characters/.test(error.message) &&
        !error.message.includes(SHORT),
    );
    await assert.rejects(
      checkDashboardTokens({ admin: LONG, readOnly: SHORT }, "0.0.0.0"),
      /ORCHESTRATOR_READ_TOKEN/,
    );
    await checkDashboardTokens({ admin: LONG, readOnly: LONG }, "0.0.0.0");
    await checkDashboardTokens({ admin: undefined, readOnly: undefined }, "0.0.0.0");
  });
});
