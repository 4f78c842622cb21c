/** Reading processes' start times and groups from /proc (no process is started here). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  bootId,
  parseProcStat,
  processStartTime,
  readProcStat,
  recordedGroupState,
} from "../../src/cli/handlers/proc-stat.js";

// Field 22 (the start time) is 85964; the name holds a space and a ")".
const LINE =
  "21236 (a b) c) R 21234 21230 7598 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 85964 3133440 411 18446744073709551615 0 0 0 0\n";

const linux = process.platform === "linux";

describe("parseProcStat", () => {
  it("reads the pid, state, process group and start time, whatever the name holds", () => {
    assert.deepEqual(parseProcStat(LINE), {
      pid: 21236,
      state: "R",
      pgrp: 21230,
      startTicks: 85964,
    });
  });

  it("refuses a line without those fields", () => {
    assert.equal(parseProcStat(""), undefined);
    assert.equal(parseProcStat("12 (name"), undefined);
    assert.equal(parseProcStat("12 (name) S 1 12"), undefined, "no start time");
    assert.equal(parseProcStat(LINE.replace("85964", "soon")), undefined);
  });
});

describe("a process's start time", { skip: linux ? false : "needs /proc" }, () => {
  it("is read from /proc/<pid>/stat, with this boot's id", () => {
    const stat = readProcStat(process.pid);
    assert.ok(stat !== undefined);
    assert.equal(stat.pid, process.pid);
    const own = readFileSync("/proc/self/stat", "utf8");
    assert.equal(stat.startTicks, parseProcStat(own)?.startTicks);
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    assert.equal(bootId(), boot);
    assert.equal(processStartTime(process.pid), `${boot}/${stat.startTicks}`);
  });

  it("is undefined for a process that does not exist", () => {
    // Above the largest pid Linux hands out (pid_max is at most 2^22).
    assert.equal(readProcStat(2 ** 22 + 1), undefined);
    assert.equal(processStartTime(2 ** 22 + 1), undefined);
  });
});

describe("recordedGroupState", { skip: linux ? false : "needs /proc" }, () => {
  // The group this test runs in, and the start of its leader (when it lives).
  const pgid = readProcStat(process.pid)?.pgrp ?? 0;
  // A test runner started from a shell leads its own group; one started by some harnesses joins
  // a group whose leader has exited, and then there is no leader to read: those two tests skip.
  const leader = readProcStat(pgid);

  it("says running for a live group whose leader started at the recorded time", (t) => {
    if (leader === undefined) return t.skip("the test's process group has no leader");
    assert.equal(recordedGroupState(pgid, `${bootId()}/${leader.startTicks}`), "running");
  });

  it("says other when the leader's pid belongs to a process started at another time", (t) => {
    if (leader === undefined) return t.skip("the test's process group has no leader");
    assert.equal(recordedGroupState(pgid, `${bootId()}/${leader.startTicks + 1}`), "other");
    assert.equal(recordedGroupState(pgid, `${bootId()}/${leader.startTicks - 1}`), "other");
  });

  it("says gone for a group with no process left", () => {
    assert.equal(recordedGroupState(2 ** 22 + 1, `${bootId()}/${leader?.startTicks ?? 1}`), "gone");
  });

  it("says elsewhere for a start on another boot (or machine), or an unreadable record", () => {
    assert.equal(recordedGroupState(pgid, `another-boot/${leader?.startTicks ?? 1}`), "elsewhere");
    assert.equal(recordedGroupState(pgid, "garbage"), "elsewhere");
    assert.equal(recordedGroupState(pgid, `${bootId()}/soon`), "elsewhere");
  });
});
