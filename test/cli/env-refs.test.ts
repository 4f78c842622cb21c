import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkEnvRefs,
  listEnvRefs,
  resolveEnvRecord,
  resolveEnvRefs,
} from "../../src/cli/env-refs.js";
import { MissingEnvVarError } from "../../src/errors.js";

void describe("${ENV_VAR} references", () => {
  void it("resolves references from the given environment", () => {
    assert.equal(resolveEnvRefs("Bearer ${TOKEN}", { TOKEN: "s3cret" }), "Bearer s3cret");
    assert.equal(resolveEnvRefs("${A}:${B}-${A}", { A: "1", B: "" }), "1:-1");
    assert.equal(resolveEnvRefs("no references, $HOME stays", {}), "no references, $HOME stays");
  });

  void it("keeps $${…} as a literal ${…}", () => {
    assert.equal(resolveEnvRefs("cost: $${PRICE} and ${X}", { X: "x" }), "cost: ${PRICE} and x");
  });

  void it("throws MissingEnvVarError naming the variable and where it is used", () => {
    assert.throws(
      () =>
        resolveEnvRefs(
          "Bearer ${API_TOKEN}",
          { OTHER: "x" },
          'headers.Authorization of task "ping"',
        ),
      (error: unknown) => {
        assert.ok(error instanceof MissingEnvVarError);
        assert.equal(error.code, "ERR_MISSING_ENV");
        assert.equal(error.variable, "API_TOKEN");
        assert.equal(
          error.message,
          'The environment variable API_TOKEN is not set (referenced as ${API_TOKEN} by headers.Authorization of task "ping")',
        );
        return true;
      },
    );
  });

  void it("resolves every value of a record", () => {
    assert.deepEqual(resolveEnvRecord({ A: "${X}", B: "plain" }, { X: "1" }, "env"), {
      A: "1",
      B: "plain",
    });
    assert.throws(() => resolveEnvRecord({ A: "${MISSING}" }, {}, "env"), /env\.A/);
  });

  void it("finds malformed references with their offset, and lists valid ones", () => {
    assert.deepEqual(checkEnvRefs("ok ${A} $${not checked"), undefined);
    assert.equal(checkEnvRefs("x ${OPEN")?.offset, 2);
    assert.match(checkEnvRefs("${1X}")?.message ?? "", /not a valid reference/);
    assert.deepEqual(listEnvRefs("${A} $${B} ${C}"), ["A", "C"]);
  });
});
