import { createRequire } from "node:module";

// package.json sits two folders up from both src/cli/ and dist/cli/.
const require = createRequire(import.meta.url);
/** The package version, from package.json. */
export const VERSION: string = (require("../../package.json") as { version: string }).version;
