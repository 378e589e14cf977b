// Fails when dist/index.js or dist/cli.js is not exactly what a fresh build of src/ produces,
// or when dist/cli.js is not executable.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const fresh = mkdtempSync(path.join(tmpdir(), 'vd-dist-'))
execFileSync(process.execPath, ['scripts/bundle.mjs', fresh], { stdio: 'inherit' })
const stale = ['index.js', 'cli.js'].filter(
  file => !readFileSync(path.join(fresh, file)).equals(readFileSync(path.join('dist', file)))
)
if (stale.length > 0) {
  const files = stale.map(f => `dist/${f}`).join(' and ')
  console.error(`${files} differ from a fresh build: run \`npm run bundle\` and commit dist/.`)
  process.exit(1)
}
if ((statSync('dist/cli.js').mode & 0o111) === 0) {
  console.error('dist/cli.js is not executable: run `npm run bundle` (or chmod +x dist/cli.js).')
  process.exit(1)
}
console.log('dist/index.js and dist/cli.js match a fresh build.')
