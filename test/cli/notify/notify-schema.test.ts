/** The `notify` block and `stuckAfterMs` in a schedule file: merged defaults and clear errors. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatScheduleError, parseScheduleText } from "../../../src/cli/schedule-file.js";
import type { TaskSpec } from "../../../src/cli/schedule-spec.js";
import { NOW, errorsOf } from "../helpers.js";

function tasksOf(text: string): readonly TaskSpec[] {
  const result = parseScheduleText(text, { file: "s.yaml", now: NOW, checkModules: false });
  assert.ok(result.ok, result.ok ? "" : result.errors.map(formatScheduleError).join("\n"));
  return result.schedule.tasks;
}

const task = (name: string, extra = ""): string =>
  `  - name: ${name}\n    every: 5s\n    command: ["true"]\n${extra}`;

describe("notify in the schedule file", () => {
  it("merges the file's default into each task, key by key; on: [] turns a task's off", () => {
    const tasks = tasksOf(
      [
        "notify:",
        "  email: { to: ops@example.com, smtp: '${SMTP_URL}' }",
        "  webhook: { url: 'https://hooks.example.com/x', headers: { X-Key: '${KEY}' } }",
        "tasks:",
        task("plain"),
        task(
          "own",
          "    notify: { on: [failure, stuck], email: { to: [a@b.c, d@e.f], smtp: 'smtps://h:465' } }\n    stuckAfterMs: 60000\n",
        ),
        task("off", "    notify: { on: [] }\n"),
      ].join("\n"),
    );
    assert.deepEqual(
      tasks.map((t) => [t.name, t.notify, t.stuckAfterMs]),
      [
        [
          "plain",
          {
            on: ["failure", "recovery"],
            email: { to: ["ops@example.com"], smtp: "${SMTP_URL}" },
            webhook: { url: "https://hooks.example.com/x", headers: { "X-Key": "${KEY}" } },
          },
          undefined,
        ],
        [
          "own",
          {
            on: ["failure", "stuck"],
            email: { to: ["a@b.c", "d@e.f"], smtp: "smtps://h:465" },
            webhook: { url: "https://hooks.example.com/x", headers: { "X-Key": "${KEY}" } },
          },
          60_000,
        ],
        ["off", undefined, undefined],
      ],
    );
  });

  it("says which field is wrong and what is allowed, at its line", () => {
    const text = [
      "notify:",
      "  on: [failure, recovry]",
      "  webhok: { url: 'https://x' }",
      "tasks:",
      task("a", "    notify: { email: { to: nobody, smtp: 'http://mail' } }\n"),
      task("b", "    notify: { on: [missed] }\n"),
      task("c", "    notify: { webhook: { url: '${HOOK' } }\n    stuckAfterMs: 0\n"),
    ].join("\n");
    assert.deepEqual(
      errorsOf(text).map((e) => `${e.line}: ${e.message}`),
      [
        '2: `notify.on[1]` must be one of failure, recovery, missed, stuck, got "recovry" (string): did you mean "recovery"?',
        "3: unknown key `webhok`: did you mean `webhook`?",
        '8: `notify.email.to` must be an email address, got "nobody"',
        '8: `notify.email.smtp` must be an smtp:// or smtps:// URL such as "${SMTP_URL}", got "http://mail"',
        "13: `notify` needs `email` or `webhook` (in the task or in the file's top-level `notify`), or `on: []` to turn notifications off",
        "19: `stuckAfterMs` must be a whole number of milliseconds ≥ 1: a run longer than this is reported stuck, got 0 (number)",
      ],
    );
  });

  it("warns, without an error, about a channel whose variable is not set", () => {
    const result = parseScheduleText(
      ["tasks:", task("a", "    notify: { webhook: { url: '${HOOK_URL}' } }\n")].join("\n"),
      { file: "s.yaml", now: NOW, envNames: [] },
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.warnings.map((w) => w.message),
      [
        "`notify.webhook.url` refers to ${HOOK_URL}, which is not set: webhook notifications are off until it is",
      ],
    );
  });
});
