import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

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
  // Layers import only the layers above them (design.md, "Layers"); the library never imports cli/ or http/.
  ...[
    ["src/time/**", ["cron", "core", "crypto", "store", "scheduler", "cli", "http"]],
    ["src/cron/**", ["core", "crypto", "store", "scheduler", "cli", "http"]],
    ["src/core/**", ["crypto", "store", "scheduler", "cli", "http"]],
    ["src/crypto/**", ["store", "scheduler", "cli", "http"]],
    ["src/store/**", ["scheduler", "cli", "http"]],
    ["src/scheduler.ts", ["cli", "http"]],
  ].map(([files, banned]) => ({
    files: [files],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: banned.flatMap((layer) => [
            {
              group: [
                `../${layer}`,
                `../${layer}/*`,
                `../${layer}.js`,
                `../../${layer}`,
                `../../${layer}/*`,
                `../../${layer}.js`,
                `./${layer}/*`,
                `./${layer}.js`,
              ],
              message: `The ${files} layer must not import ${layer} (design.md, Layers).`,
            },
          ]),
        },
      ],
    },
  })),
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { ...globals.node },
    },
  },
);
