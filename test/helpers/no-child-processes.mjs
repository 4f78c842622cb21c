/**
 * Loaded (`--import`) by scripts/run-tests.mjs for the unit tests: inside a
 * test file's process, starting a child process throws and fails the file, so
 * that a test that spawns one cannot hide among the unit tests. Such a test
 * belongs in a `*.process.test.ts` file. Outside a test file's process (the
 * runner itself, which spawns one process per file) it does nothing. Plain
 * JavaScript: worker threads load it too, without tsx.
 */
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

const STARTERS = ["spawn", "spawnSync", "fork", "exec", "execSync", "execFile", "execFileSync"];

if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const file = process.argv[1] ?? "this test file";
  for (const name of STARTERS) {
    childProcess[name] = (command) => {
      const message =
        `${file} started a child process (${name} ${String(command)}): ` +
        "a unit test starts none; move the test to a *.process.test.ts file";
      // The code under test may catch the error; the exit code still fails the file.
      process.exitCode = 1;
      process.stderr.write(`${message}\n`);
      throw new Error(message);
    };
  }
  // `import { spawn } from "node:child_process"` sees the replacements too.
  syncBuiltinESMExports();
}
