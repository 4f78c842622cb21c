import { statSync } from "node:fs";
import { extname } from "node:path";
import { pathToFileURL } from "node:url";

/** The extensions a `module.path` may have: JavaScript or TypeScript modules. */
export const MODULE_EXTENSIONS = Object.freeze([".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"]);

/** How long importing a module to check its export may take before it counts as failed. */
export const MODULE_LOAD_TIMEOUT_MS = 10_000;

/**
 * Why `path` (absolute) cannot be a task's module, or undefined: it must have
 * a module extension and be an existing file. Never reads the file, so no
 * message can show its content.
 */
export function moduleFileProblem(path: string): string | undefined {
  if (!MODULE_EXTENSIONS.includes(extname(path).toLowerCase())) {
    return `\`module.path\` must name a JavaScript or TypeScript module (${MODULE_EXTENSIONS.join(" ")}), got ${path}`;
  }
  try {
    if (!statSync(path).isFile()) return `\`module.path\` is not a file: ${path}`;
  } catch {
    return `module not found: ${path}`;
  }
  return undefined;
}

/** An import failure in words: the loader's own errors (`ERR_*`) say why; others only their kind, since they may quote the module's source. */
export function loadFailure(path: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_") && error instanceof Error) {
    const first = error.message.split("\n")[0] ?? "";
    const hint =
      code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[mc]?ts$/i.test(path)
        ? " (this Node.js cannot import TypeScript by itself: compile the module to JavaScript, or run the daemon under a loader such as `node --import tsx`)"
        : "";
    return `cannot load the module ${path}: ${first.length > 300 ? `${first.slice(0, 300)}…` : first}${hint}`;
  }
  const kind = error instanceof Error ? error.name : typeof error;
  return `cannot load the module ${path}: importing it throws ${kind === "Error" ? "an Error" : `a ${kind}`} (run \`node ${path}\` to see it)`;
}

/**
 * Imports the module at `path` and checks that `exportName` is a function
 * exported by it; returns why not, or undefined. The module's top-level code
 * runs: call this only in a thread that is thrown away afterwards (see
 * `loadScheduleOffThread`).
 */
export async function moduleExportProblem(
  path: string,
  exportName: string,
  timeoutMs = MODULE_LOAD_TIMEOUT_MS,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const loaded = await Promise.race([
      import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      timeout,
    ]);
    if (loaded === "timeout")
      return `cannot load the module ${path}: importing it took more than ${timeoutMs} ms`;
    const value = loaded[exportName];
    if (typeof value === "function") return undefined;
    const found =
      value === undefined ? "" : ` (that export is a ${value === null ? "null" : typeof value})`;
    return `the module ${path} exports no function ${JSON.stringify(exportName)}${found}`;
  } catch (error) {
    return loadFailure(path, error);
  } finally {
    clearTimeout(timer);
  }
}
