export { CronExpression, parseCron, nextRuns } from "./cron/index.js";
export type { CronOptions, NextRunsOptions, DayMatch, DstPolicy, DstChange } from "./cron/index.js";
export type {
  PlanOptions,
  RunPlan,
  PlannedRun,
  PlannedDstChange,
  TaskPlan,
  DstMark,
} from "./core/run-plan.js";
export {
  OrchestratorError,
  InvalidArgumentError,
  CronSyntaxError,
  DuplicateTaskError,
  TaskNotFoundError,
  HandlerMissingError,
  NodeIdInUseError,
  DecryptionError,
  LeaseLostError,
  NonRetryableError,
  StoreError,
  TimeoutError,
  CancelledError,
} from "./errors.js";
export type { OrchestratorErrorCode, CronFieldName } from "./errors.js";
export { Scheduler, SCHEDULER_DEFAULTS } from "./scheduler/index.js";
export type { SchedulerOptions, RunReport, RotationReport } from "./scheduler/index.js";
export { Dispatcher, DISPATCHER_DEFAULTS } from "./core/dispatcher.js";
export type {
  DispatcherOptions,
  DispatchTarget,
  DispatchRequest,
  DispatchOutcome,
} from "./core/dispatcher.js";
export { TASK_DEFAULTS } from "./core/task.js";
export type {
  TaskOptions,
  TaskInfo,
  TaskContext,
  TaskCallback,
  TaskState,
  RunStatus,
  ModuleHandler,
  CallbackInput,
} from "./core/task.js";
export { RETRY_DEFAULTS } from "./core/retry.js";
export type { RetryPolicy } from "./core/retry.js";
export type { OverlapPolicy } from "./core/overlap.js";
export type { MisfirePolicy } from "./core/misfire.js";
export type { ScheduleInput } from "./core/schedule.js";
export { ManualClock, SystemClock } from "./time/clock.js";
export type { Clock } from "./time/clock.js";
export type { Duration } from "./time/duration.js";
export type { ClockJump } from "./time/timer-loop.js";
export { createStderrLogger, silentLogger } from "./logger.js";
export type { Logger, LogMethod } from "./logger.js";
export type {
  SchedulerEvents,
  RunTrigger,
  RunStartEvent,
  RunSuccessEvent,
  RunErrorEvent,
  RunSkippedEvent,
  RunMissedEvent,
  RunLostEvent,
  TaskRemovedEvent,
  TaskQuarantinedEvent,
  TaskHandlerMissingEvent,
  SchedulerErrorEvent,
  LeaseLostEvent,
  ClockSkewEvent,
  StoreUnreachableEvent,
  StoreReconnectedEvent,
  TaskSyncedEvent,
  NodesChangedEvent,
} from "./events.js";
export type { ClockSkewMeasurement } from "./cluster/clock-skew.js";
export { LeaseKeeper } from "./leasing/lease-keeper.js";
export type { LeaseKeeperOptions } from "./leasing/lease-keeper.js";
export type { StoreStatus } from "./cluster/store-health.js";
export type { StoreFailureKind } from "./store/store-failure.js";
export { MemoryStore, MEMORY_STORE_DEFAULTS } from "./store/memory-store.js";
export type { MemoryStoreOptions } from "./store/memory-store.js";
export { MAX_OUTPUT_BYTES, MAX_RUNS_REACHED } from "./store/store.js";
export type {
  Store,
  StoreOpenContext,
  StoreChange,
  WatchOptions,
  TaskRecord,
  TaskProgress,
  StoredTaskOptions,
  StoredCallback,
  CallbackRecord,
  CallbackRef,
  Claim,
  ClaimProcess,
  ClaimRef,
  NodeBeat,
  RunKey,
  ClaimRequest,
  ClaimOutcome,
  ClaimAnswer,
  PlainClaimRequest,
  RunRecord,
  HistoryQuery,
  HistoryRetention,
} from "./store/store.js";
export { AUDIT_FIELD_LIMITS, appendAudit } from "./store/daemon-records.js";
export type {
  DaemonRecords,
  AuditEntry,
  AuditQuery,
  AuditResult,
  AuditRetention,
  ScheduleFileRecord,
  TaskOrigin,
} from "./store/daemon-records.js";
