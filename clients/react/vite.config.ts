// Library build: one ES module, React left to the app (peer dependency), the optional
// stylesheet copied beside it. Declarations come from `tsc -p tsconfig.build.json`.
import { copyFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  build: {
    lib: { entry: "src/index.ts", formats: ["es"], fileName: () => "index.js" },
    rollupOptions: { external: ["react", "react-dom", "react/jsx-runtime"] },
    sourcemap: true,
    minify: true,
  },
  plugins: [
    {
      name: "copy-styles",
      closeBundle: () => copyFileSync("src/styles.css", "dist/styles.css"),
    },
  ],
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    setupFiles: ["test/setup-env.ts"],
    testTimeout: 30000,
  },
});
