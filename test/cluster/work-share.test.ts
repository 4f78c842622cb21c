/**
 * Rendezvous ownership (src/cluster/work-share.ts): every node computes the
 * same owner from the same live set; tasks spread evenly; a node leaving
 * moves only its own tasks, a node joining takes only tasks that become its
 * own; a node alone (or with no membership heard) owns everything.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RendezvousShare, rendezvousOwner } from "../../src/cluster/work-share.js";
import { takeoverDelayMs } from "../../src/leasing/work-share.js";

const TASKS = Array.from({ length: 3000 }, (_, i) => `task-${i}`);

function shareOf(nodeId: string, live: readonly string[]): RendezvousShare {
  const share = new RendezvousShare({ nodeId, takeoverDelayMs: 500 });
  share.setLive(live);
  return share;
}

function owners(live: readonly string[]): Map<string, string> {
  const shares = live.map((id) => shareOf(id, live));
  const result = new Map<string, string>();
  for (const task of TASKS) {
    const owning = shares.filter((share, i) => share.owns(task) && live[i] !== undefined);
    assert.equal(owning.length, 1, `exactly one owner of ${task}`);
    result.set(task, live[shares.indexOf(owning[0] as RendezvousShare)] as string);
  }
  return result;
}

describe("rendezvous work share", () => {
  it("gives every task exactly one owner, the same on every node, spread evenly", () => {
    const live = ["node-a", "node-b", "node-c"];
    const byTask = owners(live);
    const counts = new Map<string, number>();
    for (const owner of byTask.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    for (const id of live) {
      const n = counts.get(id) ?? 0;
      // 1000 expected; a binomial's standard deviation here is about 26.
      assert.ok(n > 850 && n < 1150, `${id} owns ${n} of ${TASKS.length}`);
    }
    const nodes = live.map((id) => ({ id, seed: 0 }));
    assert.equal(rendezvousOwner("x", nodes), rendezvousOwner("x", [...nodes].reverse()));
  });

  it("moves only the leaving node's tasks, and gives a joining node only its own", () => {
    const before = owners(["a", "b", "c", "d"]);
    const after = owners(["a", "b", "c"]);
    for (const task of TASKS) {
      if (before.get(task) !== "d") assert.equal(after.get(task), before.get(task), task);
    }
    const joined = owners(["a", "b", "c", "d", "e"]);
    for (const task of TASKS) {
      if (joined.get(task) !== "e") assert.equal(joined.get(task), before.get(task), task);
    }
  });

  it("owns everything alone or before any membership is heard, and says when the set changed", () => {
    const share = new RendezvousShare({ nodeId: "a", takeoverDelayMs: 500 });
    assert.ok(TASKS.every((task) => share.owns(task)));
    assert.equal(share.setLive(["a"]), true);
    assert.deepEqual(share.live, ["a"]);
    assert.ok(TASKS.every((task) => share.owns(task)));
    assert.equal(share.setLive(["b", "a"]), true);
    assert.equal(share.setLive(["a", "b"]), false, "the same set, in another order");
    // This node is always one of the live nodes, even when the store's answer left it out.
    assert.equal(share.setLive(["b"]), false);
    assert.ok(TASKS.some((task) => !share.owns(task)));
    assert.ok(TASKS.some((task) => share.owns(task)));
  });

  it("names one backup per task, a node other than its owner", () => {
    const live = ["a", "b", "c", "d"];
    const shares = live.map((id) => shareOf(id, live));
    for (const task of TASKS) {
      const owning = shares.filter((share) => share.owns(task));
      const backing = shares.filter((share) => share.backs(task));
      assert.equal(owning.length, 1, task);
      assert.equal(backing.length, 1, task);
      assert.notEqual(owning[0], backing[0], task);
    }
    const leaving = owners(["a", "b", "c", "d"]);
    const after = owners(["a", "b", "c"]);
    // The backup of a task whose owner left is its new owner.
    for (const task of TASKS.slice(0, 300)) {
      if (leaving.get(task) !== "d") continue;
      const backup = live.find((id, i) => (shares[i] as RendezvousShare).backs(task));
      assert.equal(after.get(task), backup, task);
    }
  });

  it("gives each task three nodes that take it over (owner, backup, third), all of them with three or fewer", () => {
    const live = ["a", "b", "c", "d", "e"];
    const shares = live.map((id) => shareOf(id, live));
    for (const task of TASKS) {
      const looking = shares.filter((share) => share.takesOver(task));
      assert.equal(looking.length, 3, task);
      assert.ok(
        looking.some((share) => share.owns(task)) && looking.some((share) => share.backs(task)),
      );
    }
    const three = ["a", "b", "c"].map((id) => shareOf(id, ["a", "b", "c"]));
    assert.ok(TASKS.every((task) => three.every((share) => share.takesOver(task))));
    // A node past the three becomes one of them when one of the three leaves.
    const e = shareOf("e", live);
    const task = TASKS.find((name) => !e.takesOver(name)) as string;
    const gone = live.find((id, i) => id !== "e" && (shares[i] as RendezvousShare).takesOver(task));
    e.setLive(live.filter((id) => id !== gone));
    assert.equal(e.takesOver(task), true);
  });

  it("owns nothing while it leaves itself out (just joined), everything when it is alone", () => {
    const share = new RendezvousShare({ nodeId: "a", takeoverDelayMs: 500 });
    share.setLive(["a", "b"], false);
    assert.deepEqual(share.live, ["b"]);
    assert.ok(TASKS.every((task) => !share.owns(task)));
    share.setLive(["a"], false);
    assert.ok(
      TASKS.every((task) => share.owns(task)),
      "no other node: everything",
    );
    share.setLive(["a", "b"]);
    assert.ok(TASKS.some((task) => share.owns(task)));
  });

  it("takes over a quarter lease after the instant, at most 500 ms", () => {
    assert.equal(takeoverDelayMs(30_000), 500);
    assert.equal(takeoverDelayMs(1_000), 250);
    assert.equal(takeoverDelayMs(2), 1);
  });
});
