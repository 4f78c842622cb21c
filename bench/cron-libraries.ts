import { Cron } from "croner";
import { CronExpressionParser } from "cron-parser";
import { parseCronExpression } from "cron-schedule";
import { ours } from "./ours.js";

const { parseCron } = ours;

/** A uniform face over each library: parse once, then walk a chain of next runs. */
export interface CronLibrary {
  readonly name: string;
  /** Parses (and discards) an expression; `timezone` undefined means no option at all. */
  parse(expression: string, timezone: string | undefined): void;
  /** Walks `length` next runs from `fromMs` and returns the last one (ms), or NaN. */
  chain(expression: string, timezone: string | undefined, fromMs: number, length: number): number;
}

export const LIBRARIES: Readonly<Record<string, CronLibrary>> = {
  orchestrator: {
    name: "orchestrator",
    parse: (expression, timezone) => void parseCron(expression, { timezone }),
    chain(expression, timezone, fromMs, length) {
      const cron = parseCron(expression, { timezone });
      let d: Date | null = new Date(fromMs);
      for (let i = 0; i < length && d; i++) d = cron.next(d);
      return d ? d.getTime() : NaN;
    },
  },
  // The allocation-free path: epoch milliseconds in and out, no Date per call.
  "orchestrator-nextMs": {
    name: "orchestrator nextMs",
    parse: (expression, timezone) => void parseCron(expression, { timezone }),
    chain(expression, timezone, fromMs, length) {
      const cron = parseCron(expression, { timezone });
      let t = fromMs;
      for (let i = 0; i < length && t === t; i++) t = cron.nextMs(t);
      return t;
    },
  },
  croner: {
    name: "croner",
    parse: (expression, timezone) => void new Cron(expression, { timezone, paused: true }),
    chain(expression, timezone, fromMs, length) {
      const cron = new Cron(expression, { timezone, paused: true });
      let d: Date | null = new Date(fromMs);
      for (let i = 0; i < length && d; i++) d = cron.nextRun(d);
      return d ? d.getTime() : NaN;
    },
  },
  "cron-parser": {
    name: "cron-parser",
    parse: (expression, timezone) => void CronExpressionParser.parse(expression, { tz: timezone }),
    chain(expression, timezone, fromMs, length) {
      const cron = CronExpressionParser.parse(expression, {
        tz: timezone,
        currentDate: new Date(fromMs),
      });
      let last = NaN;
      for (let i = 0; i < length; i++) last = cron.next().getTime();
      return last;
    },
  },
  "cron-schedule": {
    name: "cron-schedule",
    // No time-zone option: it always computes in the process zone.
    parse: (expression) => void parseCronExpression(expression),
    chain(expression, _timezone, fromMs, length) {
      const cron = parseCronExpression(expression);
      let d = new Date(fromMs);
      for (let i = 0; i < length; i++) d = cron.getNextDate(d);
      return d.getTime();
    },
  },
};
