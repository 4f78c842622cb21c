import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { runHttpAction } from "../../src/cli/handlers/http.js";
import type { HttpActionSpec } from "../../src/cli/schedule-spec.js";
import { REDACTED, SecretRedactor } from "../../src/cli/secret-redactor.js";
import { ActionFailedError } from "../../src/errors.js";
import { errorsOf, specOf } from "./helpers.js";

interface Seen {
  readonly server: "first" | "second";
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

// Two servers on two ports of 127.0.0.1: two origins.
void describe("http action redirects", () => {
  const seen: Seen[] = [];
  const servers: Server[] = [];
  let first = "";
  let second = "";

  const serve = async (name: Seen["server"]): Promise<string> => {
    const server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        const path = request.url ?? "/";
        seen.push({
          server: name,
          method: request.method ?? "",
          path,
          headers: request.headers,
          body,
        });
        const to = new URL(path, "http://x").searchParams.get("to");
        const status = Number(new URL(path, "http://x").searchParams.get("status") ?? "302");
        if (path.startsWith("/redirect")) {
          response.writeHead(status, { location: to ?? "/" }).end("moved");
        } else if (path === "/loop") {
          response.writeHead(302, { location: "/loop" }).end();
        } else if (path === "/echo-key") {
          response.end(`your key is ${String(request.headers["x-api-key"])}`);
        } else {
          response.end("landed");
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  void before(async () => {
    first = await serve("first");
    second = await serve("second");
  });
  void beforeEach(() => {
    seen.length = 0;
  });
  void after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  const CREDENTIALS = {
    Authorization: "Bearer first-origin-only",
    "X-Api-Key": "key-for-the-first-origin",
    Cookie: "session=first",
    "X-Custom": "custom",
    Accept: "text/plain",
    "User-Agent": "orchestrator-test",
  };
  const spec = (url: string, extra: Partial<HttpActionSpec> = {}): HttpActionSpec => ({
    kind: "http",
    method: "GET",
    url,
    headers: CREDENTIALS,
    ...extra,
  });
  const to = (target: string, status = 302): string =>
    `/redirect?status=${status}&to=${encodeURIComponent(target)}`;

  void it("does not follow a redirect unless asked: the 3xx is the response, judged by expectStatus", async () => {
    const error = await runHttpAction(spec(`${first}${to(`${second}/landing`)}`), {
      label: "probe",
    }).then(
      () => assert.fail("a 302 is not a 2xx"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ActionFailedError && error.reason === "status");
    assert.match(error.message, /answered 302 Found \(expected 2xx\).*followRedirects/);
    const accepted = await runHttpAction(
      spec(`${first}${to(`${second}/landing`)}`, { expectStatus: [302] }),
    );
    assert.equal(accepted.status, 302);
    assert.equal(accepted.redirects, 0);
    assert.deepEqual(
      seen.map((s) => s.server),
      ["first", "first"],
    );
  });

  void it("drops every header but the safe ones on a hop to another origin", async () => {
    const result = await runHttpAction(
      spec(`${first}${to(`${second}/landing`)}`, { maxRedirects: 5 }),
    );
    assert.equal(result.status, 200);
    assert.equal(result.body, "landed");
    assert.equal(result.redirects, 1);
    const landed = seen.find((s) => s.server === "second");
    assert.ok(landed, JSON.stringify(seen));
    for (const name of ["authorization", "x-api-key", "cookie", "x-custom"]) {
      assert.equal(landed.headers[name], undefined, `${name} crossed origins`);
    }
    assert.equal(landed.headers.accept, "text/plain");
    assert.equal(landed.headers["user-agent"], "orchestrator-test");
    // The first origin got them all.
    assert.equal(seen[0]?.headers["x-api-key"], "key-for-the-first-origin");
  });

  void it("keeps the headers on a same-origin hop, and drops them for good once the chain left the origin", async () => {
    await runHttpAction(spec(`${first}${to("/landing")}`, { maxRedirects: 5 }));
    assert.equal(seen[1]?.path, "/landing");
    assert.equal(seen[1]?.headers["x-api-key"], "key-for-the-first-origin");
    assert.equal(seen[1]?.headers.authorization, "Bearer first-origin-only");

    seen.length = 0;
    const back = `${second}${to(`${first}/landing`)}`;
    await runHttpAction(spec(`${first}${to(back)}`, { maxRedirects: 5 }));
    assert.deepEqual(
      seen.map((s) => `${s.server} ${s.path.split("?")[0] ?? ""}`),
      ["first /redirect", "second /redirect", "first /landing"],
    );
    assert.equal(seen[2]?.headers["x-api-key"], undefined);
  });

  void it("turns a POST into a GET without body on 303, and repeats it with its body on 307", async () => {
    await runHttpAction(
      spec(`${first}${to("/landing", 303)}`, { method: "POST", body: { n: 1 }, maxRedirects: 5 }),
    );
    assert.deepEqual(
      seen.map((s) => [s.method, s.body, s.headers["content-type"] ?? null]),
      [
        ["POST", '{"n":1}', "application/json"],
        ["GET", "", null],
      ],
    );
    seen.length = 0;
    await runHttpAction(
      spec(`${first}${to("/landing", 307)}`, { method: "POST", body: "raw", maxRedirects: 5 }),
    );
    assert.deepEqual(
      seen.map((s) => [s.method, s.body]),
      [
        ["POST", "raw"],
        ["POST", "raw"],
      ],
    );
  });

  void it("stops after maxRedirects hops, and refuses a Location that is not http(s)", async () => {
    const looping = await runHttpAction(spec(`${first}/loop`, { maxRedirects: 3 })).then(
      () => assert.fail("a loop never lands"),
      (caught: unknown) => caught,
    );
    assert.ok(looping instanceof ActionFailedError && looping.reason === "network");
    assert.match(looping.message, /still redirected after 3 redirects/);
    assert.equal(seen.length, 4);

    const elsewhere = await runHttpAction(
      spec(`${first}${to("file:///etc/passwd")}`, { maxRedirects: 3 }),
    ).then(
      () => assert.fail("file: is not followed"),
      (caught: unknown) => caught,
    );
    assert.ok(elsewhere instanceof ActionFailedError);
    assert.match(elsewhere.message, /file: URL; only http and https are followed/);
  });

  void it("redacts known secrets in the body preview and the failure message", async () => {
    const redactor = new SecretRedactor();
    redactor.addReferencedValues(["${API_KEY}"], { API_KEY: "key-for-the-first-origin" });
    const result = await runHttpAction(spec(`${first}/echo-key`), { redactor });
    assert.equal(result.body, `your key is ${REDACTED}`);
    const failed = await runHttpAction(spec(`${first}/echo-key`, { expectStatus: [201] }), {
      redactor,
    }).then(
      () => assert.fail("200 is not 201"),
      (caught: unknown) => caught,
    );
    assert.ok(failed instanceof ActionFailedError);
    assert.ok(!failed.message.includes("key-for-the-first-origin"), failed.message);
  });
});

void describe("followRedirects in a schedule file", () => {
  const task = (follow: string): HttpActionSpec => {
    const action = specOf(
      `tasks:\n  - name: t\n    every: 1m\n    http:\n      url: https://example.com/\n${follow}`,
    ).tasks[0]?.action;
    if (action?.kind !== "http") throw new Error(`not an http action: ${JSON.stringify(action)}`);
    return action;
  };

  void it("is off by default; true follows up to 5 redirects, a number up to that many", () => {
    assert.equal(task("").maxRedirects, undefined);
    assert.equal(task("      followRedirects: false\n").maxRedirects, undefined);
    assert.equal(task("      followRedirects: 0\n").maxRedirects, undefined);
    assert.equal(task("      followRedirects: true\n").maxRedirects, 5);
    assert.equal(task("      followRedirects: 2\n").maxRedirects, 2);
  });

  void it("refuses more than 20 and anything but a boolean or a whole number", () => {
    for (const value of ["21", "-1", '"yes"']) {
      const [error] = errorsOf(
        `tasks:\n  - name: t\n    every: 1m\n    http:\n      url: https://example.com/\n      followRedirects: ${value}\n`,
      );
      assert.match(
        error?.message ?? "",
        /followRedirects.*true \(up to 5 redirects\), false, or the most redirects to follow \(0–20\)/,
        value,
      );
    }
  });
});
