/**
 * Secrets and a command's child process: what it inherits, and what of its
 * output is kept (redacted). The redactor's own tests are in secret-redactor.test.ts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { runCommand, runCommandAction } from "../../src/cli/handlers/command.js";
import type { ArgvCommandSpec } from "../../src/cli/schedule-spec.js";
import { REDACTED, createDaemonRedactor } from "../../src/cli/secret-redactor.js";
import { ActionFailedError } from "../../src/errors.js";

const TOKEN = "tok-0123456789abcdef0123456789abcdef";
const KEY_BASE64 = randomBytes(32).toString("base64");

const node = (script: string, env: Record<string, string> = {}): ArgvCommandSpec => ({
  kind: "command",
  shell: false,
  argv: [process.execPath, "-e", script],
  env,
});

void describe("a command's environment", () => {
  void it("does not inherit the daemon's secrets unless the task names them in its env", async () => {
    const env = {
      ...process.env,
      ORCHESTRATOR_TOKEN: TOKEN,
      ORCHESTRATOR_ENCRYPTION_KEY: KEY_BASE64,
      ORCHESTRATOR_ENCRYPTION_KEYS: `k1:${KEY_BASE64}`,
      PLAIN: "plain-value",
    };
    const probe =
      "process.stdout.write(JSON.stringify([process.env.ORCHESTRATOR_TOKEN ?? null, " +
      "process.env.ORCHESTRATOR_ENCRYPTION_KEY ?? null, process.env.ORCHESTRATOR_ENCRYPTION_KEYS ?? null, " +
      "process.env.PLAIN ?? null]))";
    const inherited = await runCommand(node(probe), { env });
    assert.deepEqual(JSON.parse(inherited.stdout), [null, null, null, "plain-value"]);

    const named = await runCommand(node(probe, { ORCHESTRATOR_TOKEN: "${ORCHESTRATOR_TOKEN}" }), {
      env,
    });
    assert.deepEqual(JSON.parse(named.stdout), [TOKEN, null, null, "plain-value"]);
  });

  void it("redacts the final output, whatever the chunks, and the failure message built from it", async () => {
    const redactor = createDaemonRedactor({ env: { ORCHESTRATOR_TOKEN: TOKEN } });
    // The token goes out in two writes, with a pause between them: two chunks.
    const script =
      "const t = process.env.T; process.stdout.write(t.slice(0, 9));" +
      "setTimeout(() => { process.stdout.write(t.slice(9) + '\\n'); console.error('bad ' + t); process.exit(3); }, 50);";
    const error = await runCommandAction(node(script, { T: "${ORCHESTRATOR_TOKEN}" }), {
      env: { ...process.env, ORCHESTRATOR_TOKEN: TOKEN },
      redactor,
    }).then(
      () => assert.fail("the command should fail"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ActionFailedError);
    const details = error.details as { stdout: string; stderr: string };
    assert.equal(details.stdout, `${REDACTED}\n`);
    assert.equal(details.stderr, `bad ${REDACTED}\n`);
    assert.ok(!error.message.includes(TOKEN), error.message);
    assert.match(error.message, /bad \[REDACTED\]/);
  });

  void it("redacts a secret cut in half at the start of a kept tail", async () => {
    const redactor = createDaemonRedactor({ env: { ORCHESTRATOR_TOKEN: TOKEN } });
    // 64 bytes kept: the token's last 20 characters, a newline, then 43 x's.
    const script = `process.stdout.write('head ' + process.env.T + '\\n' + 'x'.repeat(43))`;
    const result = await runCommand(node(script, { T: "${ORCHESTRATOR_TOKEN}" }), {
      env: { ...process.env, ORCHESTRATOR_TOKEN: TOKEN },
      redactor,
      tailBytes: 64,
    });
    assert.equal(result.stdout, `${REDACTED}\n${"x".repeat(43)}`);
  });
});
