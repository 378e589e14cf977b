// docs/BENCHMARKS.md holds one section per benchmark, each from its `# ` heading to the next:
// a benchmark replaces its own section and leaves the others as they are.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Writes `section` (starting with the line `heading`) into `file`, in place of its old one, or at
 * the end when it has none.
 * @param {string} file @param {string} heading @param {string} section
 */
export function writeSection(file, heading, section) {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const all = old.split('\n')
  const start = all.findIndex(l => l.trim() === heading)
  let text
  if (start < 0) {
    text = old ? `${old.replace(/\n*$/, '\n')}\n${section}` : section
  } else {
    const next = all.findIndex((l, i) => i > start && /^# /.test(l))
    const before = all.slice(0, start).join('\n')
    const after = next < 0 ? '' : `\n${all.slice(next).join('\n')}`
    text = `${before}${before ? '\n' : ''}${section}${after}`
  }
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  writeFileSync(file, text)
}
