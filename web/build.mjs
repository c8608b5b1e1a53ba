// Builds the console into OUT (index.html, console.js, console.css,
// icon.svg), the files the server embeds (web/CMakeLists.txt):
//   1. the API's types, generated from the contract (src/api/openapi.json)
//      into OUT/gen/openapi.d.ts, so the console cannot call a route or read
//      a member the contract does not have;
//   2. a type check of the console against them (tsc --noEmit);
//   3. one bundle by esbuild, and the static files copied.
//
//   node web/build.mjs OPENAPI.json OUT
import { build } from 'esbuild';
import openapiTS, { astToString } from 'openapi-typescript';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [openapi, outArg] = process.argv.slice(2);
if (!openapi || !outArg) {
  console.error('usage: node build.mjs OPENAPI.json OUT');
  process.exit(2);
}
const out = resolve(outArg);
mkdirSync(join(out, 'gen'), { recursive: true });

const ast = await openapiTS(pathToFileURL(resolve(openapi)));
writeFileSync(join(out, 'gen', 'openapi.d.ts'), astToString(ast));

// The checked-in tsconfig.json, with the generated types where the sources
// import them from ('piivault-openapi').
const base = JSON.parse(readFileSync(join(here, 'tsconfig.json'), 'utf8'));
const config = {
  ...base,
  compilerOptions: {
    ...base.compilerOptions,
    noEmit: true,
    paths: { 'piivault-openapi': [join(out, 'gen', 'openapi.d.ts')] },
  },
  include: [join(here, 'src')],
};
writeFileSync(join(out, 'tsconfig.json'), JSON.stringify(config, null, 2));
try {
  execFileSync(process.execPath,
               [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json')],
               { stdio: 'inherit' });
} catch {
  console.error('web/build.mjs: the console does not type-check against the API contract');
  process.exit(1);
}

await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  format: 'iife',
  target: 'chrome120',
  minify: true,
  legalComments: 'none',
  outfile: join(out, 'console.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'console.css', 'icon.svg']) copyFileSync(join(here, f), join(out, f));
