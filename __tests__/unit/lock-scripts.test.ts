// The lock scripts, run by a real sh on a temporary deploy path: a lock directory without its
// info file (made by hand, or left by a deploy killed before it wrote it) is read, not an error,
// and is broken only while it is still without info.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as cmd from '../../src/remote/commands.js'
import { parseLockProbe } from '../../src/plan/lock.js'

let deployPath = ''
let lock = ''
beforeEach(() => {
  deployPath = mkdtempSync(path.join(tmpdir(), 'vd-lock-'))
  lock = cmd.lockDir(deployPath)
})
afterEach(() => rmSync(deployPath, { recursive: true, force: true }))

function run(argv: string[]) {
  const [file = '', ...args] = argv
  const r = spawnSync(file, args, { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A lock directory without info, last changed `ageSeconds` ago. */
function bareLock(ageSeconds: number): void {
  mkdirSync(lock, { recursive: true })
  const then = Date.now() / 1000 - ageSeconds
  utimesSync(lock, then, then)
}

test('readLock: no lock is none', () => {
  expect(run(cmd.readLock(deployPath))).toEqual({ code: 0, stdout: 'none\n', stderr: '' })
})

test('readLock: a lock without its info file is held, with its age, and the script succeeds', () => {
  bareLock(700)
  const r = run(cmd.readLock(deployPath))
  expect(r).toMatchObject({ code: 0, stderr: '' })
  expect(r.stdout).toMatch(/^held\n(69\d|70\d)\n$/)
  expect(parseLockProbe(r.stdout)).toMatchObject({
    acquired: false,
    rawInfo: '',
    holder: undefined
  })
})

test('readLock: a lock with its info prints it', () => {
  bareLock(5)
  writeFileSync(`${lock}/info`, '{"token":"t","version":"v1"}\n')
  const r = run(cmd.readLock(deployPath))
  expect(r.code).toBe(0)
  expect(r.stdout).toMatch(/^held\n\d+\n\{"token":"t","version":"v1"\}\n$/)
})

test('breakLock: an info-less lock is broken while it is still info-less', () => {
  bareLock(700)
  const probe = parseLockProbe(run(cmd.readLock(deployPath)).stdout)
  if (probe.acquired) throw new Error('expected held')
  expect(run(cmd.breakLock(deployPath, probe.rawInfo))).toMatchObject({
    code: 0,
    stdout: 'broken\n'
  })
  expect(existsSync(lock)).toBe(false)
})

test('breakLock: an info-less lock whose info appeared meanwhile is left alone', () => {
  bareLock(700)
  const probe = parseLockProbe(run(cmd.readLock(deployPath)).stdout)
  if (probe.acquired) throw new Error('expected held')
  writeFileSync(`${lock}/info`, '{"token":"t","version":"v1"}\n')
  expect(run(cmd.breakLock(deployPath, probe.rawInfo))).toMatchObject({
    code: 0,
    stdout: 'changed\n'
  })
  expect(existsSync(`${lock}/info`)).toBe(true)
})

test('breakLock: what readLock read is what breakLock compares, whatever the info holds', () => {
  for (const info of ['  ci job 12  \n\n', '{"token":"t","version":"v1"}\n', 'two\nlines']) {
    bareLock(700)
    writeFileSync(`${lock}/info`, info)
    const probe = parseLockProbe(run(cmd.readLock(deployPath)).stdout)
    if (probe.acquired) throw new Error('expected held')
    expect(run(cmd.breakLock(deployPath, probe.rawInfo)).stdout).toBe('broken\n')
    expect(existsSync(lock)).toBe(false)
  }
})

test('renewLock: a lock released between its check and its touch is not made again', () => {
  // A `grep` that finds the token, then lets the deploy release its lock (the race: a renewal
  // still running when the deploy ended). `touch` alone would leave a file where the lock was.
  const bin = path.join(deployPath, 'bin')
  mkdirSync(bin)
  writeFileSync(path.join(bin, 'grep'), `#!/bin/sh\nrm -rf '${lock}'\nexit 0\n`, { mode: 0o755 })
  mkdirSync(lock, { recursive: true })
  writeFileSync(`${lock}/info`, '{"token":"t"}\n')
  const [file = '', ...args] = cmd.renewLock(deployPath, 't')
  const r = spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }
  })
  expect(r.status).toBe(0)
  expect(existsSync(lock)).toBe(false)
})
