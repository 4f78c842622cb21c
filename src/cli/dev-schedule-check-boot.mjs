// The schedule-check thread's entry when the CLI runs from its TypeScript
// sources (`node --import tsx src/cli/bin.ts`): registers tsx in the thread,
// then loads the real entry. The built CLI uses the built entry.
import { register } from "tsx/esm/api";

register();
await import(new URL("./schedule-check-worker.ts", import.meta.url).href);
