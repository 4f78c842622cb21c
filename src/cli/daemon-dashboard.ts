import { startHttpServer, type HttpServer } from "../http/server.js";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import type { CommandIO } from "./commands/io.js";
import { isDaemonPayload } from "./daemon-handlers.js";
import type { RunSettings } from "./run-options.js";

/** The daemon's dashboard (`--http`): the tokens from the environment (ORCHESTRATOR_TOKEN, ORCHESTRATOR_READ_TOKEN). */
export function startDaemonDashboard(
  scheduler: Scheduler,
  http: NonNullable<RunSettings["http"]>,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): Promise<HttpServer> {
  const token = env.ORCHESTRATOR_TOKEN?.trim() || undefined;
  const readOnlyToken = env.ORCHESTRATOR_READ_TOKEN?.trim() || undefined;
  return startHttpServer({
    scheduler,
    host: http.host,
    port: http.port,
    allowedHosts: http.allowedHosts,
    trustProxy: http.trustProxy,
    logger,
    fromScheduleFile: isDaemonPayload,
    ...(token === undefined ? {} : { token }),
    ...(readOnlyToken === undefined ? {} : { readOnlyToken }),
  });
}

/**
 * Says where the dashboard listens, and, when its token was generated, prints
 * the login link once on the terminal (never into JSON logs).
 */
export function announceDashboard(
  http: HttpServer,
  env: Readonly<Record<string, string | undefined>>,
  logFormat: RunSettings["logFormat"],
  logger: Logger,
  io: CommandIO,
): void {
  safeLog(logger, "info", { url: http.url }, "dashboard listening");
  if (!env.ORCHESTRATOR_TOKEN?.trim()) {
    // Printed once, like Jupyter: the token is in the fragment, which browsers never send.
    // Never into JSON logs, which are collected and kept: the link is a credential.
    if (logFormat === "json") {
      safeLog(
        logger,
        "info",
        { url: http.url },
        "a dashboard token was generated and is not logged: to log in, set ORCHESTRATOR_TOKEN and restart, or run with --log-format pretty to get a login link on the terminal",
      );
    } else {
      io.stdout(
        `\n  Open the dashboard (this link logs you in; it is shown only once):\n    ${http.loginUrl}\n\n`,
      );
    }
  }
}
