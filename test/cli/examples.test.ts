import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { loadScheduleFile, formatScheduleError } from "../../src/cli/schedule-file.js";
import { NOW } from "./helpers.js";

const example = fileURLToPath(new URL("../../examples/schedule.yaml", import.meta.url));
const handler = fileURLToPath(new URL("../../examples/handlers/report.mjs", import.meta.url));

void describe("examples/schedule.yaml", () => {
  void it("validates and exercises each action kind", async () => {
    const result = await loadScheduleFile(example, { now: NOW });
    assert.ok(result.ok, result.ok ? "" : result.errors.map(formatScheduleError).join("\n"));
    const kinds = result.schedule.tasks.map((task) => [
      task.name,
      task.trigger.kind,
      task.action.kind,
    ]);
    assert.deepEqual(kinds, [
      ["hello", "cron", "command"],
      ["disk-usage", "every", "command"],
      ["healthz", "cron", "http"],
      ["report", "cron", "module"],
      ["flaky", "every", "command"],
    ]);
    const [hello, , healthz, report] = result.schedule.tasks;
    assert.deepEqual(hello?.trigger, { kind: "cron", expression: "*/10 * * * * *" });
    assert.equal(
      healthz?.action.kind === "http" && healthz.action.url,
      "http://127.0.0.1:8080/healthz",
    );
    assert.deepEqual(report?.action, { kind: "module", path: handler, export: "report" });
    const flaky = result.schedule.tasks.find((task) => task.name === "flaky");
    assert.deepEqual(flaky?.notify, {
      on: ["failure", "recovery", "stuck"],
      webhook: { url: "${NOTIFY_WEBHOOK_URL}", headers: {} },
    });
  });

  void it("warns, without an error, that the example's webhook is off when NOTIFY_WEBHOOK_URL is not set", async () => {
    const result = await loadScheduleFile(example, { now: NOW, envNames: ["PATH"] });
    assert.ok(result.ok, result.ok ? "" : result.errors.map(formatScheduleError).join("\n"));
    assert.deepEqual(
      result.warnings.map((warning) => warning.message),
      [
        "`notify.webhook.url` refers to ${NOTIFY_WEBHOOK_URL}, which is not set: webhook notifications are off until it is",
      ],
    );
  });

  void it("has a report handler that runs with the worker context", async () => {
    const module = (await import(pathToFileURL(handler).href)) as {
      report: (ctx: unknown) => Promise<void>;
    };
    const lines: string[] = [];
    const original = console.log;
    console.log = (line: string) => void lines.push(line);
    try {
      await module.report({
        taskName: "report",
        scheduledAt: new Date("2026-01-01T00:00:00Z"),
        attempt: 1,
        payload: { title: "Minute report", include: ["uptime"] },
        signal: new AbortController().signal,
      });
    } finally {
      console.log = original;
    }
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? "",
      /^\[report\] Minute report for 2026-01-01T00:00:00.000Z: uptime \d+ s$/,
    );
  });
});
