import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { ManualClock, SystemClock } from "../../src/time/clock.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Heartbeat, heartbeatBlocker, reloadFileHeartbeat } from "../../src/cli/heartbeat.js";
import { REDACTED, SecretRedactor } from "../../src/cli/secret-redactor.js";
import { waitFor } from "../helpers/pg.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { damageTable, realTimeScheduler, tempDb } from "../helpers/durable.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import {
  checkHeartbeat,
  daemonHeartbeatTarget,
  heartbeatFromFlags,
} from "../../src/cli/heartbeat-spec.js";
import { parseScheduleText } from "../../src/cli/schedule-file.js";

describe("heartbeat settings", () => {
  it("fills the defaults: GET every minute, 10 s timeout (or `every` when shorter)", () => {
    assert.deepEqual(checkHeartbeat({ url: "https://hc-ping.com/abc" }, ["heartbeat"]).spec, {
      url: "https://hc-ping.com/abc",
      everyMs: 60_000,
      method: "GET",
      timeoutMs: 10_000,
    });
    assert.equal(checkHeartbeat({ url: "http://h/x", every: "2s" }, []).spec?.timeoutMs, 2_000);
    assert.equal(heartbeatFromFlags(undefined, undefined), undefined);
    assert.equal(heartbeatFromFlags("http://h/x", "30s")?.everyMs, 30_000);
  });

  it("reports each bad field with what is allowed", () => {
    const { problems } = checkHeartbeat(
      { url: "${BAD-NAME}", every: "1ms", method: "PUT", timeoutMs: 0, extra: 1 },
      ["heartbeat"],
    );
    const messages = problems.map((p) => `${p.path.join(".")}: ${p.message}`);
    assert.equal(messages.length, 5, messages.join("\n"));
    assert.match(messages.join("\n"), /heartbeat\.url: .*not a valid reference/);
    assert.match(messages.join("\n"), /heartbeat\.every: `heartbeat\.every` must be a duration/);
    assert.match(
      messages.join("\n"),
      /`heartbeat\.method` must be one of GET, HEAD, POST, got "PUT"/,
    );
    assert.match(
      messages.join("\n"),
      /`heartbeat\.timeoutMs` must be a whole number of milliseconds from 1/,
    );
    assert.match(messages.join("\n"), /unknown key `extra` in `heartbeat`/);
    assert.match(
      checkHeartbeat("https://x", ["heartbeat"]).problems[0]?.message ?? "",
      /must be an object/,
    );
    assert.match(checkHeartbeat({}, ["heartbeat"]).problems[0]?.message ?? "", /got nothing/);
  });

  it("resolves ${NAME} at start; log lines get the origin, the redactor the rest", () => {
    const file = checkHeartbeat({ url: "https://hc-ping.com/${HC}?create=1" }, [], () => true).spec;
    const target = daemonHeartbeatTarget(undefined, file, { HC: "5f2a-uuid-0001" });
    assert.equal(target?.url, "https://hc-ping.com/5f2a-uuid-0001?create=1");
    assert.equal(target?.label, "https://hc-ping.com");
    assert.deepEqual(target?.secrets, ["5f2a-uuid-0001", "/5f2a-uuid-0001?create=1"]);
    // The flag wins over the file.
    const flag = heartbeatFromFlags("http://127.0.0.1:9999/", undefined);
    assert.equal(daemonHeartbeatTarget(flag, file, {})?.url, "http://127.0.0.1:9999/");
    assert.throws(() => daemonHeartbeatTarget(undefined, file, {}), /HC/);
  });

  it("a schedule file carries its heartbeat, and warns about an unset variable", () => {
    const text = `heartbeat:\n  url: "\${HB}"\n  every: 30s\ntasks: []\n`;
    const result = parseScheduleText(text, { file: "s.yaml", now: () => 0, envNames: [] });
    assert.ok(result.ok);
    assert.deepEqual(result.schedule.heartbeat, {
      url: "${HB}",
      everyMs: 30_000,
      method: "GET",
      timeoutMs: 10_000,
    });
    assert.match(result.warnings[0]?.message ?? "", /refers to \$\{HB\}, which is not set/);
  });
});

describe("heartbeatBlocker", () => {
  it("blocks while the scheduler is not started, and while its store is unusable", async () => {
    const clock = new ManualClock("2026-03-01T10:00:30Z");
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, { clock, timezone: "UTC", logger: silentLogger });
    try {
      await scheduler.registerTask("minutely", "* * * * *", () => {});
      assert.equal(await heartbeatBlocker(scheduler, 1_000), "the scheduler is not running");
      await scheduler.start();
      assert.equal(await heartbeatBlocker(scheduler, 1_000), undefined);
    } finally {
      await scheduler.stop();
      await dispatcher.close();
    }

    const db = await tempDb();
    try {
      const seed = new SqliteStore({ path: db.path });
      await seed.open({ nodeId: "seed", clock: new SystemClock() });
      await seed.close();
      damageTable(db.path, "claims");
      const store = new SqliteStore({ path: db.path });
      const parts = realTimeScheduler(store, { nodeId: "node-a", leaseMs: 1_000 });
      try {
        parts.scheduler.defineHandler("tick", () => {});
        await parts.scheduler.registerTask("tick", { every: 100 }, "tick");
        await parts.scheduler.start();
        await waitFor("the store found unusable", () => !parts.scheduler.storeStatus.usable, {
          timeoutMs: 30_000,
          intervalMs: 10,
        });
        assert.equal(
          await heartbeatBlocker(parts.scheduler, 1_000),
          "the store is unusable (corrupt)",
        );
      } finally {
        await parts.scheduler.stop();
        await store.close();
        await parts.dispatcher.close();
      }
    } finally {
      await db.cleanup();
    }
  });
});

describe("Heartbeat", () => {
  it("follows a reloaded file: applied when changed, kept when it does not resolve, off when removed; credentials go in a header", async () => {
    const pings: { path: string; authorization: string | undefined }[] = [];
    const server = createServer((request, response) => {
      pings.push({ path: request.url ?? "", authorization: request.headers.authorization });
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const clock = new ManualClock("2026-03-01T10:00:30Z");
    const dispatcher = new Dispatcher();
    const logger = recordingLogger();
    const scheduler = new Scheduler(dispatcher, { clock, timezone: "UTC", logger: silentLogger });
    const redactor = new SecretRedactor();
    const heartbeat = new Heartbeat({ scheduler, logger, redactor });
    try {
      await scheduler.start();
      const spec = checkHeartbeat(
        { url: `http://user:pa%3Ass@127.0.0.1:${port}/a/\${HB}`, every: "1s" },
        [],
      ).spec;
      const env = { HB: "tok-123456789" };
      reloadFileHeartbeat(heartbeat, spec, { env, redactor, logger });
      await waitFor("a ping", () => pings.length > 0, { timeoutMs: 30_000, intervalMs: 10 });
      assert.deepEqual(pings[0], {
        path: "/a/tok-123456789",
        authorization: `Basic ${Buffer.from("user:pa:ss").toString("base64")}`,
      });
      assert.equal(redactor.redact("GET /a/tok-123456789"), `GET ${REDACTED}`);
      const target = heartbeat.target;
      reloadFileHeartbeat(heartbeat, spec, { env, redactor, logger });
      assert.equal(heartbeat.target, target, "an unchanged heartbeat is left running as it is");
      reloadFileHeartbeat(heartbeat, spec, { env: {}, redactor, logger });
      assert.equal(heartbeat.target, target);
      assert.ok(
        logger.entries.some((e) => e.msg?.startsWith("heartbeat of the reloaded file not applied")),
      );
      reloadFileHeartbeat(heartbeat, undefined, { env, redactor, logger });
      assert.equal(heartbeat.target, undefined);
      assert.ok(logger.entries.some((e) => e.msg === "heartbeat off"));
      assert.ok(!JSON.stringify(logger.entries).includes("tok-123456789"));
    } finally {
      heartbeat.stop();
      await scheduler.stop();
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
