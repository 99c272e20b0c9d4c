// Builds the field app into api/field_app/static/ (committed, so `make run` needs only Python):
// app.js (bundled, minified), sw.js (with the shell's version and file list), and the public
// files. The version is a hash of every input, so the same sources give the same bytes and CI
// can rebuild and `git diff --exit-code`.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, mkdirSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "..", "..", "api", "field_app", "static");
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));

const inputs = ["package.json", "package-lock.json", "build.mjs",
  ...readdirSync(join(here, "src")).sort().map((name) => `src/${name}`),
  ...readdirSync(join(here, "public")).sort().map((name) => `public/${name}`)];
const digest = createHash("sha256");
for (const name of inputs) digest.update(name).update("\0").update(readFileSync(join(here, name))).update("\0");
const version = `${pkg.version}+${digest.digest("hex").slice(0, 12)}`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of readdirSync(join(here, "public"))) copyFileSync(join(here, "public", name), join(out, name));

const common = { bundle: true, minify: true, legalComments: "none", target: ["es2022"], charset: "utf8", logLevel: "warning" };
await build({
  ...common, entryPoints: [join(here, "src", "app.js")], outfile: join(out, "app.js"), format: "esm",
  define: { __APP_VERSION__: JSON.stringify(version) },
});
const shell = ["/field/", "/field/app.js", "/field/app.css", "/field/manifest.webmanifest", "/field/icon-192.png", "/field/icon-512.png"];
await build({
  ...common, entryPoints: [join(here, "src", "sw.js")], outfile: join(out, "sw.js"), format: "iife",
  define: { __SHELL_VERSION__: JSON.stringify(version), __SHELL_FILES__: JSON.stringify(shell) },
});
writeFileSync(join(out, "version.json"), `${JSON.stringify({ version, shell }, null, 1)}\n`);
console.log(`field app ${version} -> ${out}`);
