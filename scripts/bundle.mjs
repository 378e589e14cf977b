// Bundles the action into one ESM file, dist/index.js (or the path given), as the runner executes it.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/index.ts'],
  outfile: process.argv[2] ?? 'dist/index.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  // ssh2 loads two optional native addons in try/catch (cpu-features, its crypto binding);
  // they stay out of the bundle and ssh2 falls back to pure JavaScript.
  external: ['cpu-features', '*.node'],
  // CommonJS dependencies use require(), __dirname and __filename; give the ESM bundle them.
  banner: {
    js: [
      "import { createRequire as __vdCreateRequire } from 'node:module';",
      "import { fileURLToPath as __vdFileURLToPath } from 'node:url';",
      "import { dirname as __vdDirname } from 'node:path';",
      'const require = __vdCreateRequire(import.meta.url);',
      'const __filename = __vdFileURLToPath(import.meta.url);',
      'const __dirname = __vdDirname(__filename);'
    ].join(' ')
  }
})
