import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { inheritedEnv, isDaemonSecretVariable } from "../../src/cli/child-env.js";
import { runCommand, runCommandAction } from "../../src/cli/handlers/command.js";
import type { ArgvCommandSpec } from "../../src/cli/schedule-spec.js";
import { REDACTED, SecretRedactor, createDaemonRedactor } from "../../src/cli/secret-redactor.js";
import { createKeyring } from "../../src/crypto/keyring.js";
import { ActionFailedError } from "../../src/errors.js";

const KEY = randomBytes(32);
const KEY_BASE64 = KEY.toString("base64");
const TOKEN = "tok-0123456789abcdef0123456789abcdef";

const node = (script: string, env: Record<string, string> = {}): ArgvCommandSpec => ({
  kind: "command",
  shell: false,
  argv: [process.execPath, "-e", script],
  env,
});

void describe("secret redactor", () => {
  void it("redacts every key of the keyring in base64 (padded or not, URL-safe) and hex", () => {
    const redactor = new SecretRedactor();
    redactor.addKeyring(createKeyring(KEY_BASE64));
    const forms = [
      KEY_BASE64,
      KEY_BASE64.replace(/=+$/, ""),
      KEY.toString("base64url"),
      KEY.toString("hex"),
      KEY.toString("hex").toUpperCase(),
    ];
    for (const form of forms) {
      assert.equal(redactor.redact(`key=${form};`), `key=${REDACTED};`, form);
    }
  });

  void it("knows the daemon's secret variables and a PostgreSQL password, not other variables", () => {
    const redactor = createDaemonRedactor({
      env: {
        ORCHESTRATOR_TOKEN: TOKEN,
        ORCHESTRATOR_ENCRYPTION_KEY: KEY_BASE64,
        HOME: "/home/someone-long",
      },
      store: { kind: "postgres", connectionString: "postgres://app:pa%24%24word-42@db/app" },
    });
    assert.equal(
      redactor.redact(`${TOKEN} ${KEY_BASE64} /home/someone-long pa$$word-42 pa%24%24word-42`),
      `${REDACTED} ${REDACTED} /home/someone-long ${REDACTED} ${REDACTED}`,
    );
  });

  void it("learns `${NAME}` values of 8 characters or more, not shorter ones", () => {
    const redactor = new SecretRedactor();
    const env = { LONG: "long-secret-1", SHORT: "short12", UNSET: undefined };
    redactor.addReferencedValues(["Bearer ${LONG}", "${SHORT}", "$${LONG}", "${UNSET}"], env);
    assert.equal(redactor.redact("long-secret-1 short12"), `${REDACTED} short12`);
  });

  void it("replaces the longest secret first, so that a secret inside another leaves nothing behind", () => {
    const redactor = new SecretRedactor();
    redactor.add("abcdefgh");
    redactor.add("abcdefgh-ijklmnop");
    assert.equal(redactor.redact("x abcdefgh-ijklmnop y abcdefgh"), `x ${REDACTED} y ${REDACTED}`);
  });

  void it("redacts the part of a secret left at a cut: the start of a tail, the end of a preview", () => {
    const redactor = new SecretRedactor();
    redactor.add(TOKEN);
    const tail = `${TOKEN.slice(10)}\nrest`;
    assert.equal(redactor.redact(tail, { start: true }), `${REDACTED}\nrest`);
    assert.equal(redactor.redact(tail), tail, "without a cut, a part is just text");
    const preview = `body ${TOKEN.slice(0, 12)}`;
    assert.equal(redactor.redact(preview, { end: true }), `body ${REDACTED}`);
  });
});

void describe("a command's environment", () => {
  void it("names the daemon's secret variables, including future ORCHESTRATOR_* credentials", () => {
    for (const name of [
      "ORCHESTRATOR_ENCRYPTION_KEY",
      "ORCHESTRATOR_ENCRYPTION_KEYS",
      "ORCHESTRATOR_TOKEN",
      "ORCHESTRATOR_DB_PASSWORD",
      "ORCHESTRATOR_VIEWER_TOKEN",
    ]) {
      assert.equal(isDaemonSecretVariable(name), true, name);
    }
    for (const name of ["ORCHESTRATOR_LOG_LEVEL", "PATH", "API_TOKEN"]) {
      assert.equal(isDaemonSecretVariable(name), false, name);
    }
    assert.deepEqual(inheritedEnv({ PATH: "/bin", ORCHESTRATOR_TOKEN: TOKEN, GONE: undefined }), {
      PATH: "/bin",
    });
  });

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
