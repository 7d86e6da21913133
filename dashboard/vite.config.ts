import { defineConfig } from "vite";

// Built into dist/, which the manager serves at `/`. `pnpm --dir dashboard dev`
// serves the sources with hot reload and forwards the API to a running
// Switchyard (http://127.0.0.1:8787 unless SWITCHYARD_URL says otherwise).
const api = process.env.SWITCHYARD_URL ?? "http://127.0.0.1:8787";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The manager's Content-Security-Policy allows scripts from the origin only;
    // the preload polyfill is not needed by any browser that runs ES modules.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: "es2022",
    // CodeMirror is one lazily loaded chunk of ~500 kB (170 kB gzipped); splitting it further buys nothing.
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { "/api": api, "/healthz": api } },
});
