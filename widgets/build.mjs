// Bundles src/index.js into dist/comfort.js: one ES module with Lit and socket.io-client inside,
// so a host page needs a single <script type="module">. `npm run build -- --watch` rebuilds on save.
import * as esbuild from 'esbuild';

const options = {
  entryPoints: ['src/index.js'],
  outfile: 'dist/comfort.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'info',
};

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
