import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDocument } from "yaml";
import { nameFromCommand, splitCrontabCommand } from "../../src/cli/crontab-command.js";
import { importCrontab } from "../../src/cli/import-crontab.js";
import { formatScheduleError, parseScheduleText } from "../../src/cli/schedule-file.js";
import type { TaskSpec } from "../../src/cli/schedule-spec.js";
import { NOW } from "./helpers.js";

const CRONTAB = [
  "# Edit this file to introduce tasks to be run by cron.", // 1
  "# m h  dom mon dow   command", // 2
  "SHELL=/bin/sh", // 3
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", // 4
  "MAILTO=ops@example.com", // 5
  'HOME = "/home/deploy"', // 6
  "", // 7
  "# nightly backup", // 8
  "30 2 * * * /usr/local/bin/backup.sh --full > /var/log/backup.log 2>&1", // 9
  "*/15 * * * * cd /srv/app && php artisan schedule:run >> /dev/null 2>&1", // 10
  "", // 11
  "CRON_TZ=America/New_York", // 12
  '0 9 * * 1-5 /usr/bin/mail -s "Standup" team@example.com%Good morning,%Standup in 5 minutes.', // 13
  "0 0 1 * * date +\\%Y-\\%m-\\%d >> /tmp/months", // 14
  "@daily /usr/local/bin/backup.sh --full", // 15
  "@reboot /usr/local/bin/start-agent", // 16
  "TZ=Europe/Berlin", // 17
  "@hourly curl -fsS https://hc-ping.com/${UUID}", // 18
  "0 0 30 2 * /bin/echo never", // 19
  "61 * * * * /bin/echo bad", // 20
  "this is not a crontab line", // 21
  "SHELL=/bin/bash", // 22
  "RANDOM_DELAY=2", // 23
  "0 12 * * sun [[ -f /tmp/flag ]] && echo yes", // 24
  "PATH=/opt/bin", // 25
  "CRON_TZ=Mars/Olympus", // 26
  "@weekly /opt/bin/rotate-logs", // 27
  "",
].join("\n");

function load(yaml: string): readonly TaskSpec[] {
  const result = parseScheduleText(yaml, { file: "imported.yaml", now: NOW });
  assert.ok(result.ok, result.ok ? "" : result.errors.map(formatScheduleError).join("\n"));
  return result.schedule.tasks;
}

void describe("import-crontab: a realistic crontab", () => {
  const imported = importCrontab(CRONTAB, { source: "crontab -l" });

  void it("round-trips: the generated YAML loads without errors", () => {
    assert.equal(load(imported.yaml).length, imported.taskCount);
    assert.equal(imported.taskCount, 8);
  });

  void it("carries entries with their schedule, zone, shell line, env, stdin and jitter", () => {
    const base = {
      SHELL: "/bin/sh",
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/home/deploy",
    };
    const summary = load(imported.yaml).map((task) => ({
      name: task.name,
      trigger: task.trigger,
      timezone: task.timezone,
      action: task.action,
      options: task.options,
    }));
    const sh = (script: string, env: Record<string, string>, stdin?: string) => ({
      kind: "command",
      shell: true,
      script,
      env,
      ...(stdin === undefined ? {} : { stdin }),
    });
    const cron = (expression: string) => ({ kind: "cron", expression });
    const berlin = { ...base, TZ: "Europe/Berlin" };
    const bash = { ...berlin, SHELL: "/bin/bash" };
    assert.deepEqual(summary, [
      {
        name: "backup",
        trigger: cron("30 2 * * *"),
        timezone: undefined,
        action: sh("/usr/local/bin/backup.sh --full > /var/log/backup.log 2>&1", base),
        options: {},
      },
      {
        name: "php-artisan",
        trigger: cron("*/15 * * * *"),
        timezone: undefined,
        action: sh("cd /srv/app && php artisan schedule:run >> /dev/null 2>&1", base),
        options: {},
      },
      {
        name: "mail",
        trigger: cron("0 9 * * 1-5"),
        timezone: "America/New_York",
        action: sh(
          '/usr/bin/mail -s "Standup" team@example.com',
          base,
          "Good morning,\nStandup in 5 minutes.\n",
        ),
        options: {},
      },
      {
        name: "date",
        trigger: cron("0 0 1 * *"),
        timezone: "America/New_York",
        action: sh("date +%Y-%m-%d >> /tmp/months", base),
        options: {},
      },
      {
        name: "backup-2",
        trigger: cron("0 0 * * *"),
        timezone: "America/New_York",
        action: sh("/usr/local/bin/backup.sh --full", base),
        options: {},
      },
      {
        name: "curl",
        trigger: cron("0 * * * *"),
        timezone: "Europe/Berlin",
        // The command is a shell line: ${UUID} is left to the shell.
        action: sh("curl -fsS https://hc-ping.com/${UUID}", berlin),
        options: {},
      },
      {
        name: "crontab-line-24",
        trigger: cron("0 12 * * sun"),
        timezone: "Europe/Berlin",
        action: {
          kind: "command",
          shell: false,
          argv: ["/bin/bash", "-c", "[[ -f /tmp/flag ]] && echo yes"],
          env: bash,
        },
        options: { jitterMs: 120_000 },
      },
      {
        name: "rotate-logs",
        trigger: cron("0 0 * * 0"),
        timezone: "Europe/Berlin",
        action: {
          kind: "command",
          shell: false,
          argv: ["/bin/bash", "-c", "/opt/bin/rotate-logs"],
          env: { ...bash, PATH: "/opt/bin" },
        },
        options: { jitterMs: 120_000 },
      },
    ]);
  });

  void it("notes line by line what it could not carry over", () => {
    assert.deepEqual(
      imported.notes.map((note) => [note.line, note.message.replace(/:.*$/s, "")]),
      [
        [5, "MAILTO=ops@example.com becomes `notify.email` of the entries that follow, on failure"],
        [13, "the text after the first unescaped % is the command's standard input, as in cron"],
        [16, "@reboot is not carried over"],
        [19, "not carried over"],
        [20, "not carried over"],
        [21, "not carried over"],
        [22, "SHELL=/bin/bash"],
        [23, "RANDOM_DELAY=2 (minutes) becomes `jitterMs"],
        [
          26,
          "CRON_TZ=Mars/Olympus is not a time zone this runtime knows; the following entries keep Europe/Berlin",
        ],
      ],
    );
    assert.match(imported.notes[3]?.message ?? "", /never fires/);
    assert.match(imported.notes[4]?.message ?? "", /minute 61 is out of range/);
  });

  void it("keeps comments, uncarried lines and notes as YAML comments", () => {
    const comments = imported.yaml.split("\n").filter((line) => line.trimStart().startsWith("#"));
    for (const expected of [
      "  # Edit this file to introduce tasks to be run by cron.",
      "  # nightly backup",
      "  # @reboot /usr/local/bin/start-agent",
      "  # this is not a crontab line",
      "  # 61 * * * * /bin/echo bad",
      "  # crontab line 9: 30 2 * * * /usr/local/bin/backup.sh --full > /var/log/backup.log 2>&1",
    ]) {
      assert.ok(comments.includes(expected), `missing comment ${JSON.stringify(expected)}`);
    }
    assert.ok(comments.some((line) => line.startsWith("  # NOTE (crontab line 5): MAILTO")));
    // The comments before an entry stay attached to it in the YAML document.
    const document = parseDocument(imported.yaml);
    assert.equal(document.errors.length, 0);
  });

  void it("shares one env mapping per run of environment lines (YAML anchors)", () => {
    assert.equal(imported.yaml.match(/&env\d/g)?.length, 4);
    assert.ok(imported.yaml.includes("    env: *env1"));
  });
});

void describe("import-crontab: MAILTO", () => {
  void it("becomes notify.email on failure of the entries that follow, until MAILTO is emptied", () => {
    const imported = importCrontab(
      [
        "* * * * * /bin/true",
        "MAILTO=ops@example.com, dev@example.com",
        "MAILFROM=cron@example.com",
        "0 * * * * /bin/backup",
        'MAILTO=""',
        "0 0 * * * /bin/quiet",
      ].join("\n"),
    );
    assert.deepEqual(
      load(imported.yaml).map((task) => [task.name, task.notify]),
      [
        ["true", undefined],
        [
          "backup",
          {
            on: ["failure"],
            email: {
              to: ["ops@example.com", "dev@example.com"],
              from: "cron@example.com",
              smtp: "${SMTP_URL}",
            },
          },
        ],
        ["quiet", undefined],
      ],
    );
    assert.match(
      imported.notes[0]?.message ?? "",
      /cron mails any output of a run, orchestrator mails when a run fails/,
    );
  });
});

void describe("import-crontab: edge cases", () => {
  void it("produces an empty but valid schedule for a crontab without entries", () => {
    const imported = importCrontab('# nothing\nMAILTO=""\n@reboot /bin/true\n');
    assert.equal(imported.taskCount, 0);
    assert.deepEqual(load(imported.yaml), []);
    assert.deepEqual(
      imported.notes.map((n) => n.line),
      [2, 3],
    );
  });

  void it("escapes ${ in environment values, which cron does not expand", () => {
    const imported = importCrontab('GREETING=${not expanded}\n* * * * * echo "$GREETING"\n');
    const [task] = load(imported.yaml);
    assert.deepEqual(task?.action.kind === "command" ? task.action.env : undefined, {
      GREETING: "$${not expanded}",
    });
  });

  void it("handles CRLF line endings, tabs and a nickname in upper case", () => {
    const [task] = load(importCrontab("@DAILY\t/bin/true\r\n5\t4 * * *\techo tab\r\n").yaml);
    assert.deepEqual(task?.trigger, { kind: "cron", expression: "0 0 * * *" });
  });
});

void describe("crontab commands", () => {
  void it("splits at the first unescaped % and turns further ones into newlines", () => {
    assert.deepEqual(splitCrontabCommand("cat"), { command: "cat", stdin: undefined });
    assert.deepEqual(splitCrontabCommand("mail -s hi x%line 1%line 2"), {
      command: "mail -s hi x",
      stdin: "line 1\nline 2\n",
    });
    assert.deepEqual(splitCrontabCommand("date +\\%s%"), { command: "date +%s", stdin: "\n" });
    assert.deepEqual(splitCrontabCommand("cat%50\\% off%"), { command: "cat", stdin: "50% off\n" });
    assert.deepEqual(splitCrontabCommand("echo a\\\\b \\n"), {
      command: "echo a\\\\b \\n",
      stdin: undefined,
    });
  });

  void it("derives readable task names", () => {
    assert.equal(nameFromCommand("/usr/local/bin/backup.sh --full"), "backup");
    assert.equal(nameFromCommand("/usr/local/bin/backup.sh full > /dev/null"), "backup-full");
    assert.equal(nameFromCommand("cd /srv/app && php artisan schedule:run"), "php-artisan");
    assert.equal(nameFromCommand("FOO=1 nice -n 10 /usr/bin/python3 /opt/job.py"), "python3");
    assert.equal(nameFromCommand("[[ -f x ]]"), "");
  });
});
