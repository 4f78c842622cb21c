import { ENCRYPTION_KEYS_ENV, ENCRYPTION_KEY_ENV } from "../crypto/keyring.js";

/** The variable that holds the dashboard's admin token. */
export const TOKEN_ENV = "ORCHESTRATOR_TOKEN";
/** The variable that holds the dashboard's read-only token. */
export const READ_TOKEN_ENV = "ORCHESTRATOR_READ_TOKEN";

/** The daemon's own secrets by name; see {@link isDaemonSecretVariable} for the rest. */
export const DAEMON_SECRET_VARIABLES: readonly string[] = Object.freeze([
  ENCRYPTION_KEY_ENV,
  ENCRYPTION_KEYS_ENV,
  TOKEN_ENV,
  READ_TOKEN_ENV,
]);

// Any future ORCHESTRATOR_* credential is kept from children too, by its name.
const SECRET_NAME = /^ORCHESTRATOR_\w*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/;

/**
 * Whether a variable is one of the daemon's own secrets: the encryption key
 * variables, the dashboard token, and any other `ORCHESTRATOR_*` variable
 * whose name says it holds a credential (KEY, TOKEN, SECRET, PASSWORD, PASSWD,
 * CREDENTIAL, AUTH).
 */
export function isDaemonSecretVariable(name: string): boolean {
  return DAEMON_SECRET_VARIABLES.includes(name) || SECRET_NAME.test(name);
}

/**
 * The environment a task's process starts from: the daemon's, without the
 * daemon's own secrets ({@link isDaemonSecretVariable}) and without unset
 * entries. A task that needs one of them names it in its `env`
 * (`ORCHESTRATOR_TOKEN: "${ORCHESTRATOR_TOKEN}"`), which is added on top.
 */
export function inheritedEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isDaemonSecretVariable(name)) inherited[name] = value;
  }
  return inherited;
}

/** What a command's run variables describe (see {@link runVariables}). */
export interface RunDescription {
  readonly taskName: string;
  readonly scheduledAt: Date;
  readonly attempt: number;
  readonly fencingToken: number;
  readonly nodeId: string;
}

/** The variables that tell a command which run it is, by name. */
export const RUN_VARIABLES = Object.freeze({
  taskName: "ORCHESTRATOR_TASK_NAME",
  scheduledAt: "ORCHESTRATOR_SCHEDULED_AT",
  attempt: "ORCHESTRATOR_ATTEMPT",
  fencingToken: "ORCHESTRATOR_FENCING_TOKEN",
  nodeId: "ORCHESTRATOR_NODE_ID",
} as const);

/**
 * The variables a command task's process gets about its run: the task's
 * name, the scheduled instant (ISO 8601, UTC), the attempt (1, 2, …), the
 * fencing token (`ctx.fencingToken`, to fence its own writes elsewhere) and
 * the daemon's node id. They are set over the inherited environment and the
 * task's `env`. None is a secret: the fencing token is a number that only grows.
 */
export function runVariables(run: RunDescription): Record<string, string> {
  return {
    [RUN_VARIABLES.taskName]: run.taskName,
    [RUN_VARIABLES.scheduledAt]: run.scheduledAt.toISOString(),
    [RUN_VARIABLES.attempt]: String(run.attempt),
    [RUN_VARIABLES.fencingToken]: String(run.fencingToken),
    [RUN_VARIABLES.nodeId]: run.nodeId,
  };
}
