// The example app, built against the package's built output (run `npm run build` first),
// as an app that installed @ultudy/jobs-react would be.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  resolve: {
    alias: [
      { find: /^@ultudy\/jobs-react$/, replacement: dist("index.js") },
      { find: /^@ultudy\/jobs-react\/styles\.css$/, replacement: dist("styles.css") },
    ],
  },
  build: { outDir: "dist", emptyOutDir: true },
  server: { port: 3001 },
});
