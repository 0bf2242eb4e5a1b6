/// <reference types="node" />
import { defineConfig } from 'vitest/config';

// The dev server forwards the bridge's API and Socket.IO to a running bridge, so `npm run dev`
// shows live data with hot reload. BRIDGE_URL points it elsewhere.
const bridge = process.env.BRIDGE_URL ?? 'http://127.0.0.1:5000';

export default defineConfig({
  // The bridge serves the build at `/`, but relative URLs keep it working behind a path prefix.
  base: './',
  // esbuild compiles TSX on its own; no React plugin needed (and none installs on every machine).
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 250,
    // Libraries in chunks of their own: they change less often than the dashboard, so a
    // browser keeps them cached across releases.
    rollupOptions: {
      output: {
        manualChunks: {
          react: ['react', 'react-dom'],
          i18n: ['i18next', 'react-i18next', 'i18next-browser-languagedetector'],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: bridge, changeOrigin: true },
      // The bridge accepts Socket.IO only from its own origin; to it, the dev server is a
      // stranger unless the proxied requests carry the bridge's origin.
      '/socket.io': { target: bridge, changeOrigin: true, ws: true, headers: { origin: bridge } },
    },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
