// The bundled CLI (dist/cli.js) is the product: it starts as a command of its own, on this
// machine's Node and on Node 24, and refuses bad usage with exit 2 before it connects anywhere.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ACTION_NODE, REPO_ROOT } from '../../scripts/run-action.mjs'

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js')
const nodes = [...new Set([process.execPath, ACTION_NODE])]
const EMPTY = mkdtempSync(path.join(tmpdir(), 'vd-cli-'))

function cli(node: string, args: string[], cwd = EMPTY) {
  return spawnSync(node, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    timeout: 30000
  })
}

test('dist/cli.js is an executable node script', () => {
  expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
  expect(statSync(CLI).mode & 0o111).not.toBe(0)
  const r = spawnSync(CLI, ['--help'], { encoding: 'utf8', timeout: 30000 })
  expect([r.status, r.stdout.split('\n')[0]]).toEqual([
    0,
    'Usage: versioned-deploy <command> [options]'
  ])
})

describe.each(nodes)('under %s', node => {
  test('--help on each command: 0, every option with its default', () => {
    const r = cli(node, ['rollback', '--help'])
    expect([r.status, r.stderr]).toEqual([0, ''])
    expect(r.stdout).toMatch(
      /--deploy-path PATH\s+directory on the server \[default: \/opt\/<project>\]/
    )
  })

  test('a bad flag: 2, with the valid ones', () => {
    const r = cli(node, ['status', '--hots', 'x'])
    expect([r.status, r.stdout]).toEqual([2, ''])
    expect(r.stderr).toContain('unknown option --hots (did you mean --host?). Valid options:')
    expect(r.stderr).not.toMatch(/ReferenceError|SyntaxError|Cannot find module/)
  })

  test('a missing required option and a bad config file: 2', () => {
    expect(cli(node, ['deploy', '--version', 'v1']).stderr).toMatch(/--host: is required/)
    const dir = mkdtempSync(path.join(tmpdir(), 'vd-cli-'))
    writeFileSync(path.join(dir, 'versioned-deploy.yml'), 'host: [x\n')
    const r = cli(node, ['status'], dir)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/versioned-deploy.yml is not valid YAML/)
  })
})
