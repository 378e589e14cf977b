// Bundles the action and the CLI, each into one ESM file: dist/index.js (as the runner
// executes it) and dist/cli.js (the `versioned-deploy` command, executable). Into the folder
// given, or dist/.
import { build } from 'esbuild'
import { chmodSync } from 'node:fs'
import path from 'node:path'

const outdir = process.argv[2] ?? 'dist'

// CommonJS dependencies use require(), __dirname and __filename; give the ESM bundle them.
const esmShim = [
  "import { createRequire as __vdCreateRequire } from 'node:module';",
  "import { fileURLToPath as __vdFileURLToPath } from 'node:url';",
  "import { dirname as __vdDirname } from 'node:path';",
  'const require = __vdCreateRequire(import.meta.url);',
  'const __filename = __vdFileURLToPath(import.meta.url);',
  'const __dirname = __vdDirname(__filename);'
].join(' ')

/** @param {string} entry @param {string} file @param {string} banner */
function bundle(entry, file, banner) {
  return build({
    entryPoints: [entry],
    outfile: path.join(outdir, file),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    // ssh2 loads two optional native addons in try/catch (cpu-features, its crypto binding);
    // they stay out of the bundle and ssh2 falls back to pure JavaScript.
    external: ['cpu-features', '*.node'],
    banner: { js: banner }
  })
}

await Promise.all([
  bundle('src/index.ts', 'index.js', esmShim),
  bundle('src/cli/index.ts', 'cli.js', `#!/usr/bin/env node\n${esmShim}`)
])
chmodSync(path.join(outdir, 'cli.js'), 0o755)
