export { CronExpression, parseCron, nextRuns } from "./cron-expression.js";
export type { CronOptions, NextRunsOptions } from "./cron-expression.js";
export type { DayMatch } from "./compiled.js";
export type { DstPolicy } from "./next.js";
export type { DstChange } from "./dst-changes.js";
export type { ParsedCron, ParsedField, FieldItem } from "./parse.js";
export { CronSyntaxError, InvalidArgumentError, OrchestratorError } from "../errors.js";
