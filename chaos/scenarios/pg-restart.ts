import { clusterScenario } from "../harness.js";

/**
 * The database goes away under the nodes: a fast restart as claims go out
 * (just before an instant), a crash (immediate stop: no checkpoint, crash
 * recovery) as the 300 ms handlers finish, and a SIGKILL of the server as
 * claims go out.
 */
export default clusterScenario({
  name: "pg-restart",
  description:
    "PostgreSQL restarted during claims, crashed during finishes, SIGKILLed during claims",
  store: "postgres",
  async inject(ctx) {
    const pg = ctx.pg;
    if (pg === undefined) throw new Error("pg-restart needs PostgreSQL");
    const faults = [
      { at: 2_970, what: "fast restart (during claims)", act: () => pg.restart() },
      { at: 7_310, what: "crash: immediate stop + start (during finishes)", act: () => pg.crash() },
      { at: 11_970, what: "SIGKILL of the server + start (during claims)", act: () => pg.kill9() },
    ];
    for (const fault of faults) {
      if (fault.at > ctx.window.endAtMs - ctx.t0 - 2_000) break;
      await ctx.at(fault.at);
      const started = Date.now();
      ctx.note(`PostgreSQL ${fault.what}`);
      await fault.act();
      ctx.note(`PostgreSQL back after ${Date.now() - started} ms`);
    }
  },
});
