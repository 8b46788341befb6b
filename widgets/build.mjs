// Builds what the service serves and the npm package ships (docs/widgets.md §8):
// - dist/comfort.js: src/index.js as one ES module with Lit and socket.io-client inside, so a host
//   page needs a single <script type="module">;
// - dist/integrations/<platform>/sdk.js and dist/integrations/sdk-contract.js: each platform's
//   client adapter (../integrations/) as a self-contained ES module that imports nothing (contract
//   §9.7: a vendor may copy one alone), readable (not minified) so a vendor can review it;
// - dist/types/integrations/: their TypeScript declarations, from the adapters' JSDoc (tsc);
// - dist/custom-elements.json: the custom-elements manifest (custom-elements-manifest.config.mjs).
// `npm run build -- --watch` rebuilds the widgets bundle on save.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const TARGET = ['es2020', 'chrome100', 'firefox100', 'safari15'];

const bundle = {
  entryPoints: ['src/index.js'],
  outfile: 'dist/comfort.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: TARGET,
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'info',
};

/** Every platform with a client adapter: integrations/<platform>/sdk.js. */
export function platforms() {
  return readdirSync(here('../integrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(here(`../integrations/${d.name}/sdk.js`)))
    .map((d) => d.name)
    .sort();
}

async function buildAdapters() {
  rmSync(here('dist/integrations'), { recursive: true, force: true });
  const entries = [
    ...platforms().map((p) => ({ in: `../integrations/${p}/sdk.js`, out: `${p}/sdk` })),
    { in: '../integrations/sdk-contract.js', out: 'sdk-contract' },
  ];
  const result = await esbuild.build({
    entryPoints: entries,
    outdir: 'dist/integrations',
    bundle: true,
    splitting: false, // a chunk shared between modules would be an import by relative path
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    minify: false,
    metafile: true,
    legalComments: 'inline',
    banner: { js: '// Session Comfort platform adapter: self-contained, imports nothing (docs/integrations/README.md).' },
    logLevel: 'warning',
  });
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    // sdk-contract's loadAdapterModule imports its siblings at run time on purpose: the module
    // that lists every adapter; a platform adapter itself never imports.
    const imports = output.imports.filter((i) => !(file.endsWith('sdk-contract.js') && i.kind === 'dynamic-import'));
    if (imports.length) throw new Error(`${file} imports ${imports.map((i) => i.path).join(', ')}`);
  }
}

function buildAdapterTypes() {
  rmSync(here('dist/types/integrations'), { recursive: true, force: true });
  execFileSync(process.execPath, [here('node_modules/typescript/bin/tsc'), '-p', here('tsconfig.types.json')], {
    stdio: 'inherit',
  });
  // The Jitsi IFrame API has no types of its own on npm: ours (a global interface) go along,
  // and the two adapters that take one say so.
  const types = here('dist/types/integrations');
  copyFileSync(here('../integrations/jitsi/external-api.d.ts'), `${types}/jitsi/external-api.d.ts`);
  for (const platform of ['jitsi', 'jaas']) {
    const file = `${types}/${platform}/sdk.d.ts`;
    writeFileSync(file, `/// <reference path="../jitsi/external-api.d.ts" />\n${readFileSync(file, 'utf8')}`);
  }
}

function buildManifest() {
  execFileSync(
    process.execPath,
    [here('node_modules/@custom-elements-manifest/analyzer/cem.js'), 'analyze', '--config', 'custom-elements-manifest.config.mjs', '--quiet'],
    { stdio: 'inherit', cwd: here('.') },
  );
}

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(bundle);
  await ctx.watch();
} else {
  // A warning here has meant a part of the widgets left out (an import dropped): fail instead.
  const built = await esbuild.build(bundle);
  if (built.warnings.length) throw new Error(`dist/comfort.js built with ${built.warnings.length} warning(s)`);
  await buildAdapters();
  buildAdapterTypes();
  buildManifest();
}
