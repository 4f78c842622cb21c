import { MemoryStore } from "../../src/store/memory-store.js";
import { runStoreContract } from "./contract.js";

runStoreContract("memory", () =>
  Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
);
