import { MissingEnvVarError } from "../errors.js";

/** `${NAME}`, or `$${…}` which stands for a literal `${…}`. */
const REFERENCE = /\$(\$?)\{([^}]*)\}?/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks the `${NAME}` references in a value from a schedule file. Returns a
 * message for the first malformed reference (unterminated, or not a valid
 * variable name) with its 0-based offset in the value, or `undefined`.
 */
export function checkEnvRefs(value: string): { offset: number; message: string } | undefined {
  for (const match of value.matchAll(REFERENCE)) {
    if (match[1] === "$") continue;
    const name = match[2] ?? "";
    if (!match[0].endsWith("}")) {
      return {
        offset: match.index,
        message: `unterminated reference ${JSON.stringify(match[0])}: write \${NAME}`,
      };
    }
    if (!VARIABLE_NAME.test(name)) {
      return {
        offset: match.index,
        message: `${JSON.stringify(match[0])} is not a valid reference: a variable name is letters, digits and _, not starting with a digit (write $\${…} for a literal \${…})`,
      };
    }
  }
  return undefined;
}

/** The well-formed `${NAME}` references of a value, with their 0-based offsets. */
export function findEnvRefs(value: string): { name: string; offset: number }[] {
  const refs: { name: string; offset: number }[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    if (match[1] !== "$" && match[0].endsWith("}") && VARIABLE_NAME.test(match[2] ?? ""))
      refs.push({ name: match[2] ?? "", offset: match.index });
  }
  return refs;
}

/** The names of the variables a value refers to with `${NAME}`. */
export function listEnvRefs(value: string): string[] {
  return findEnvRefs(value).map((ref) => ref.name);
}

/**
 * Replaces every `${NAME}` in `value` with `env[NAME]`, at run time, so that
 * secrets stay out of the schedule file. `$${…}` yields a literal `${…}`.
 *
 * @param where - names the value in the error message, e.g. `env.PGPASSWORD of task "backup"`.
 * @throws MissingEnvVarError when a referenced variable is not set (an empty
 *   string counts as set).
 */
export function resolveEnvRefs(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  where?: string,
): string {
  return value.replace(REFERENCE, (whole: string, escape: string, name: string) => {
    if (escape === "$") return whole.slice(1);
    if (!whole.endsWith("}") || !VARIABLE_NAME.test(name)) return whole;
    const resolved = env[name];
    if (resolved === undefined) throw new MissingEnvVarError(name, where);
    return resolved;
  });
}

/**
 * Applies {@link resolveEnvRefs} to every value of a record (an `env` or
 * `headers` map). `field` and `owner` name the values in errors:
 * `env.TOKEN of "backup"`.
 */
export function resolveEnvRecord(
  record: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
  field: string,
  owner?: string,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    resolved[key] = resolveEnvRefs(
      value,
      env,
      `${field}.${key}${owner === undefined ? "" : ` of ${owner}`}`,
    );
  }
  return resolved;
}
