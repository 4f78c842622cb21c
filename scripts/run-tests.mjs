#!/usr/bin/env node
// Runs the test suite with Node's test runner (Node 20 has no glob support in
// --test): every test/**/*.test.ts, or the files and folders given as
// arguments; then the cron and time tests once more under another TZ, to show
// that results never depend on the process zone.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

function collect(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { recursive: true })
    .map((entry) => join(path, String(entry)))
    .filter((file) => file.endsWith(".test.ts") && statSync(file).isFile())
    .sort();
}

function run(files, env = {}) {
  if (files.length === 0) return 0;
  const args = [
    "--import",
    "tsx",
    "--test",
    "--test-reporter=spec",
    "--test-concurrency=2",
    "--test-timeout=600000",
    ...files,
  ];
  const result = spawnSync(process.execPath, args, {
    stdio: "inherit",
    env: { ...process.env, ...env },
  });
  return result.status ?? 1;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ["test"])
  .flatMap(collect)
  .map((f) => relative(process.cwd(), f));
let status = run(files);
if (targets.length === 0) {
  const zoneFiles = files.filter(
    (f) => /^test[\\/](cron|time)[\\/]/.test(f) && !f.includes("timer-loop"),
  );
  console.log(`\nThe cron and time tests again with TZ=Asia/Tokyo:`);
  status = run(zoneFiles, { TZ: "Asia/Tokyo" }) || status;
}
process.exit(status);
