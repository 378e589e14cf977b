// Fails when dist/index.js is not exactly what a fresh build of src/ produces.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const fresh = path.join(mkdtempSync(path.join(tmpdir(), 'vd-dist-')), 'index.js')
execFileSync(process.execPath, ['scripts/bundle.mjs', fresh], { stdio: 'inherit' })
if (!readFileSync(fresh).equals(readFileSync('dist/index.js'))) {
  console.error('dist/index.js differs from a fresh build: run `npm run bundle` and commit dist/.')
  process.exit(1)
}
console.log('dist/index.js matches a fresh build.')
