import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { runHttpAction } from "../../src/cli/handlers/http.js";
import type { HttpActionSpec } from "../../src/cli/schedule-spec.js";
import { ActionFailedError, MissingEnvVarError, TimeoutError } from "../../src/errors.js";

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage["headers"];
  body: string;
}

type Route = (request: IncomingMessage, response: ServerResponse, body: string) => void;

void describe("http handler", () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  const routes = new Map<string, Route>();
  let onHang: (() => void) | undefined;

  void before(async () => {
    routes.set("/ok", (_req, res) => res.end("fine"));
    routes.set("/echo", (_req, res, body) =>
      res.writeHead(201, { "content-type": "text/plain" }).end(body),
    );
    routes.set("/no-content", (_req, res) => res.writeHead(204).end());
    routes.set("/broken", (_req, res) =>
      res.writeHead(500, "Internal Server Error").end("E".repeat(5000)),
    );
    // Never answers: for timeouts and aborts.
    routes.set("/hang", () => onHang?.());
    server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body });
        const route =
          routes.get(request.url ?? "") ?? ((_req, res) => res.writeHead(404).end("not found"));
        route(request, response, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  void after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const spec = (path: string, extra: Partial<HttpActionSpec> = {}): HttpActionSpec => ({
    kind: "http",
    method: "GET",
    url: `${base}${path}`,
    headers: {},
    ...extra,
  });

  void it("accepts a 2xx by default and records status, duration and the body's start", async () => {
    const result = await runHttpAction(spec("/ok"));
    assert.equal(result.status, 200);
    assert.equal(result.body, "fine");
    assert.equal(result.bodyTruncated, false);
    assert.ok(Number.isFinite(result.durationMs) && result.durationMs >= 0);
  });

  void it("sends a JSON body and headers with ${} resolved at run time", async () => {
    const result = await runHttpAction(
      spec("/echo", {
        method: "POST",
        headers: { Authorization: "Bearer ${API_TOKEN}" },
        body: { n: 1, ok: true },
      }),
      { env: { API_TOKEN: "t0ken" } },
    );
    assert.equal(result.status, 201);
    assert.equal(result.body, '{"n":1,"ok":true}');
    const request = seen.at(-1);
    assert.equal(request?.method, "POST");
    assert.equal(request?.headers.authorization, "Bearer t0ken");
    assert.equal(request?.headers["content-type"], "application/json");
  });

  void it("sends a string body as is, with the given content type", async () => {
    await runHttpAction(
      spec("/echo", { method: "PUT", headers: { "Content-Type": "text/csv" }, body: "a,b\n1,2\n" }),
    );
    const request = seen.at(-1);
    assert.equal(request?.body, "a,b\n1,2\n");
    assert.equal(request?.headers["content-type"], "text/csv");
  });

  void it("fails on an unexpected status with the status and the first 1 KiB of the body", async () => {
    await assert.rejects(runHttpAction(spec("/broken"), { label: "ping" }), (error: unknown) => {
      assert.ok(error instanceof ActionFailedError);
      assert.equal(error.reason, "status");
      assert.equal(
        error.message,
        `ping answered 500 Internal Server Error (expected 2xx): ${"E".repeat(1024)}`,
      );
      const details = error.details as { status: number; bodyTruncated: boolean };
      assert.equal(details.status, 500);
      assert.equal(details.bodyTruncated, true);
      return true;
    });
  });

  void it("checks expectStatus when given", async () => {
    assert.equal((await runHttpAction(spec("/no-content", { expectStatus: [204] }))).status, 204);
    await assert.rejects(runHttpAction(spec("/ok", { expectStatus: [204, 304] })), {
      reason: "status",
      message: /answered 200 OK \(expected 204 or 304\): fine/,
    });
    await assert.rejects(runHttpAction(spec("/missing")), { reason: "status", message: /404/ });
  });

  void it("times out with a TimeoutError as the cause", async () => {
    await assert.rejects(runHttpAction(spec("/hang", { timeoutMs: 200 })), (error: unknown) => {
      assert.ok(error instanceof ActionFailedError);
      assert.equal(error.reason, "timeout");
      assert.ok(error.cause instanceof TimeoutError);
      assert.equal(error.cause.timeoutMs, 200);
      return true;
    });
  });

  void it("stops when the run's signal aborts, even with a timeout set", async () => {
    const controller = new AbortController();
    onHang = () => controller.abort(new Error("scheduler stopping"));
    try {
      await assert.rejects(
        runHttpAction(spec("/hang", { timeoutMs: 60_000 }), { signal: controller.signal }),
        (error: unknown) => {
          assert.ok(error instanceof ActionFailedError);
          assert.equal(error.reason, "aborted");
          assert.equal((error.cause as Error).message, "scheduler stopping");
          return true;
        },
      );
    } finally {
      onHang = undefined;
    }
  });

  void it("reports a refused connection as a network failure", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(runHttpAction({ ...spec("/"), url: `http://127.0.0.1:${port}/` }), {
      reason: "network",
      message: /ECONNREFUSED/,
    });
  });

  void it("rejects before sending when a ${} reference is unset", async () => {
    const count = seen.length;
    await assert.rejects(
      runHttpAction(spec("/ok", { headers: { "X-Key": "${ORCHESTRATOR_TEST_UNSET}" } }), {
        env: {},
      }),
      MissingEnvVarError,
    );
    assert.equal(seen.length, count);
  });
});
