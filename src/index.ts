export { CronExpression, parseCron, nextRuns } from "./cron/index.js";
export type { CronOptions, NextRunsOptions, DayMatch, DstPolicy } from "./cron/index.js";
export {
  OrchestratorError,
  InvalidArgumentError,
  CronSyntaxError,
  DuplicateTaskError,
  TaskNotFoundError,
  DecryptionError,
  LeaseLostError,
  NonRetryableError,
  StoreError,
  TimeoutError,
} from "./errors.js";
export type { OrchestratorErrorCode, CronFieldName } from "./errors.js";
