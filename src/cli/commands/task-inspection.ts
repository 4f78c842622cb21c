import { CallbackSealing } from "../../durable/callback-sealing.js";
import { CronCache } from "../../core/schedule.js";
import type { TaskState } from "../../core/task.js";
import type { Keyring } from "../../crypto/keyring.js";
import { DecryptionError, type DecryptionFailureReason } from "../../errors.js";
import { silentLogger } from "../../logger.js";
import { restoreTask } from "../../durable/persisted-tasks.js";
import type { TaskRecord } from "../../store/store.js";
import { isDaemonPayload } from "../daemon-handlers.js";

/** Why a task is quarantined: its record did not open (see DecryptionError), or its stored schedule is invalid. */
export type QuarantineReason = DecryptionFailureReason | "invalid-schedule" | "unreadable";

/** A stored task as the daemon would see it with the key at hand. */
export interface InspectedTask {
  readonly record: TaskRecord;
  /**
   * The daemon's state for it: `quarantined` when its record does not open
   * with the key (a state stores never hold: it depends on the key), else the
   * stored one (`active`, `paused`, `completed`).
   */
  readonly state: TaskState;
  /** False when there was no key to open records with: `state` is then the stored one, unchecked. */
  readonly checked: boolean;
  /** Why it is quarantined (absent when it is not). */
  readonly quarantineReason?: QuarantineReason;
  /**
   * True when the daemon added it from a schedule file (the mark in its sealed
   * payload); false when it opened without that mark (registered in code, or a
   * module task, whose payload is the module's own); undefined when unknown.
   */
  readonly fromScheduleFile: boolean | undefined;
}

/**
 * Opens each stored record with `key` the way the daemon does at start
 * (production mode, no plaintext migration), to tell a quarantined task from
 * an active one and a task a schedule file defines from others. Without a
 * key, the stored states are given unchecked.
 */
export function inspectTasks(
  records: readonly TaskRecord[],
  key: Keyring | undefined,
): InspectedTask[] {
  if (key === undefined) {
    return records.map((record) => ({
      record,
      state: record.state,
      checked: false,
      fromScheduleFile: undefined,
    }));
  }
  const sealing = new CallbackSealing({
    encryptionKey: key,
    durable: true,
    testMode: false,
    migratePlaintext: false,
  });
  const cronCache = new CronCache();
  return records.map((record) => {
    let failure: unknown;
    const { task, opened } = restoreTask(
      {
        sealing,
        cronCache,
        logger: silentLogger,
        hasHandler: () => true,
        emit: (event, ...payload) => {
          if (event === "task:quarantined") failure = (payload[0] as { error: unknown }).error;
        },
      },
      record,
    );
    if (task.state !== "quarantined") {
      return {
        record,
        state: task.state,
        checked: true,
        fromScheduleFile: isDaemonPayload(opened?.payload),
      };
    }
    return {
      record,
      state: "quarantined",
      checked: true,
      quarantineReason:
        failure instanceof DecryptionError
          ? (failure.reason ?? "unreadable")
          : failure === undefined
            ? "unreadable"
            : "invalid-schedule",
      fromScheduleFile: undefined,
    };
  });
}
