// eslint (flat config) for the map page's own scripts: static/js/*.js, static/panels/*.js.
// They are plain ES2015 browser scripts (no modules, no bundler: see webmap/assets.py),
// each an IIFE adding to the one global window.SafeMap; Leaflet is the global L.
// Run: cd webmap && npx eslint static/js/*.js static/panels/*.js   (make lint does)
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["static/vendor/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: {
      // The older Chromium cores on government PCs: ES2015, no optional chaining.
      ecmaVersion: 2015,
      sourceType: "script",
      globals: { ...globals.browser, L: "readonly" }
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-undef": "error",
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      "no-implicit-globals": "error",
      "strict": ["error", "function"],
      "eqeqeq": ["error", "always"],
      "no-shadow": ["error", { builtinGlobals: false }],
      "no-var": "off"
    }
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "commonjs", globals: globals.node }
  }
];
