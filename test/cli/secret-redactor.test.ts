import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { inheritedEnv, isDaemonSecretVariable } from "../../src/cli/child-env.js";
import { REDACTED, SecretRedactor, createDaemonRedactor } from "../../src/cli/secret-redactor.js";
import { createKeyring } from "../../src/crypto/keyring.js";

const KEY = randomBytes(32);
const KEY_BASE64 = KEY.toString("base64");
const TOKEN = "tok-0123456789abcdef0123456789abcdef";

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
});
