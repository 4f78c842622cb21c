import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/** The layers of src/, from the floor up. http/ (the dashboard) and cli/ (the daemon, which serves it) on top. */
const LAYERS = [
  "time",
  "cron",
  "core",
  "crypto",
  "store",
  "leasing",
  "durable",
  "cluster",
  "engine",
  "scheduler",
  "http",
  "cli",
];

/** One no-restricted-imports rule per layer, banning every layer above it. */
function layerRules() {
  const flat = LAYERS.flat();
  const rank = (layer) =>
    LAYERS.findIndex((l) => l === layer || (Array.isArray(l) && l.includes(layer)));
  const importsOf = (layer) =>
    ["", "../", "../../", "../../../"].flatMap((up) =>
      up === ""
        ? [`./${layer}/*`, `./${layer}.js`]
        : [`${up}${layer}`, `${up}${layer}/*`, `${up}${layer}.js`],
    );
  const rule = (files, banned, who) => ({
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: banned.map((layer) => ({
            group: importsOf(layer),
            message: `${who} must not import ${layer}/: layers import only the layers below them (docs/architecture.md).`,
          })),
        },
      ],
    },
  });
  const rules = flat.map((layer) =>
    rule(
      [`src/${layer}/**`],
      flat.filter((other) => other !== layer && rank(other) >= rank(layer)),
      `src/${layer}/`,
    ),
  );
  // errors and logger sit under every layer; events may name types of time/, core/ and store/.
  rules.push(
    rule(
      ["src/errors.ts", "src/logger.ts"],
      flat.filter((layer) => rank(layer) > rank("core")),
      "src/{errors,logger}.ts",
    ),
    rule(
      ["src/events.ts"],
      flat.filter((layer) => rank(layer) > rank("store")),
      "src/events.ts",
    ),
  );
  return rules;
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "**/*.cjs", "test/fixtures/**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test runs describe/it itself; awaiting them is not needed.
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Only time/clock.ts reads the wall clock; everything else takes a Clock.
    files: ["src/**/*.ts"],
    ignores: ["src/time/clock.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Use a Clock (src/time/clock.ts)." },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: "Use a Clock (src/time/clock.ts).",
        },
      ],
    },
  },
  // Layers, from the floor up: each imports only the layers before it in LAYERS
  // (docs/architecture.md, "Layers"). The library never imports cli/ or http/.
  ...layerRules(),
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { ...globals.node },
    },
  },
);
