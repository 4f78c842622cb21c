import { CallbackSealing } from "../../durable/callback-sealing.js";
import { CronCache } from "../../core/schedule.js";
import type { Keyring } from "../../crypto/keyring.js";
import { DecryptionError } from "../../errors.js";
import { silentLogger } from "../../logger.js";
import { restoreTask } from "../../durable/persisted-tasks.js";
import type { StoredTask } from "../../http/task-view.js";
import type { TaskRecord } from "../../store/store.js";
import { isDaemonPayload } from "../daemon-handlers.js";

/**
 * Opens each stored record with `key` the way the daemon does at start
 * (production mode, no plaintext migration), to tell a quarantined task from
 * an active one and a task a schedule file defines from others. Without a
 * key, the stored states are given unchecked.
 */
export function inspectTasks(
  records: readonly TaskRecord[],
  key: Keyring | undefined,
): StoredTask[] {
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
