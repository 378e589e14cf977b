// The server-side registry pull script, run by a real sh with a stand-in `docker` that records
// what it was given: the password arrives on standard input only, and the throw-away Docker
// config directory is gone afterwards, whether the pull succeeded or not.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as cmd from '../../src/remote/commands.js'

let dir = ''
let tmp = ''
const FAKE_DOCKER = `#!/bin/sh
# Records each call: its arguments, DOCKER_CONFIG, and for login what came on stdin.
echo "$* | config=$DOCKER_CONFIG" >> "$VD_CALLS"
case "$1" in
  login) read -r pw; echo "stdin=$pw" >> "$VD_CALLS"; echo "{\\"auths\\":{}}" > "$DOCKER_CONFIG/config.json"; [ "$pw" = right ] || { echo "unauthorized: incorrect username or password" >&2; exit 1; } ;;
  pull) [ "$VD_PULL_FAILS" = 1 ] && { echo "manifest unknown" >&2; exit 1; } ;;
esac
exit 0
`

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vd-pull-'))
  tmp = path.join(dir, 'tmp')
  spawnSync('mkdir', ['-p', tmp, path.join(dir, 'bin')])
  writeFileSync(path.join(dir, 'bin', 'docker'), FAKE_DOCKER, { mode: 0o755 })
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function run(argv: string[], stdin: string, env: Record<string, string> = {}) {
  const [file = '', ...args] = argv
  const r = spawnSync(file, args, {
    input: stdin,
    encoding: 'utf8',
    env: {
      PATH: `${dir}/bin:/usr/bin:/bin`,
      TMPDIR: tmp,
      VD_CALLS: path.join(dir, 'calls'),
      ...env
    }
  })
  const calls = existsSync(path.join(dir, 'calls'))
    ? readFileSync(path.join(dir, 'calls'), 'utf8')
    : ''
  return { code: r.status, stderr: r.stderr, calls }
}

test('logs in with the password from stdin inside a temporary config, pulls, removes the config', () => {
  const r = run(
    cmd.registryPull('reg.example:5000', 'bot', ['reg.example:5000/a@sha256:1']),
    'right'
  )
  expect(r.code).toBe(0)
  const lines = r.calls.trim().split('\n')
  expect(lines[0]).toMatch(
    /^login --username bot --password-stdin reg\.example:5000 \| config=.*\/vd-docker-config\./
  )
  expect(lines[1]).toBe('stdin=right')
  expect(lines[2]).toMatch(
    /^pull --quiet reg\.example:5000\/a@sha256:1 \| config=.*vd-docker-config\./
  )
  expect(r.calls).not.toMatch(/login .*right/)
  expect(readdirSync(tmp)).toEqual([])
})

test('a refused login exits 3 saying so, and removes the config', () => {
  const r = run(cmd.registryPull('reg.example', 'bot', ['reg.example/a@sha256:1']), 'wrong')
  expect(r.code).toBe(3)
  expect(r.stderr).toMatch(/login to reg\.example failed: unauthorized/)
  expect(r.calls).not.toMatch(/^pull/m)
  expect(readdirSync(tmp)).toEqual([])
})

test('without a user it pulls anonymously; a failed pull exits 4; the config is gone', () => {
  const r = run(cmd.registryPull('reg.example', '', ['reg.example/a@sha256:1']), '', {
    VD_PULL_FAILS: '1'
  })
  expect(r.code).toBe(4)
  expect(r.calls).not.toMatch(/^login/m)
  expect(r.stderr).toContain('docker pull reg.example/a@sha256:1 failed')
  expect(readdirSync(tmp)).toEqual([])
})
