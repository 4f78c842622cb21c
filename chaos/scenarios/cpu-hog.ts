import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { killPid, onCleanup } from "../cleanup.js";
import { clusterScenario } from "../harness.js";

/** Busy loops beside the nodes, one more than there are cores, for most of the window. */
export default clusterScenario({
  name: "cpu-hog",
  description: "PostgreSQL, 3 nodes: CPU hogs (cores + 1 busy loops) beside them for 10 s",
  store: "postgres",
  async inject(ctx) {
    await ctx.at(2_000);
    const hogs = Array.from({ length: availableParallelism() + 1 }, () => {
      const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
      const forget = onCleanup(() => killPid(child.pid));
      return { child, forget };
    });
    ctx.note(`${hogs.length} CPU hogs started`);
    await ctx.at(12_000);
    for (const { child, forget } of hogs) {
      killPid(child.pid);
      forget();
    }
    ctx.note("CPU hogs killed");
  },
});
