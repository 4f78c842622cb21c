// The worker-thread entry used when the CLI runs from its TypeScript sources
// (`node --import tsx src/cli/bin.ts`, `npm run orchestrator`): registers tsx in
// the thread, then loads the real entry. The built CLI uses the built entry.
import { register } from "tsx/esm/api";

register();
const entry = await import(new URL("../core/worker-entry.ts", import.meta.url).href);
export default entry.default;
