// State written whole or not at all (issue 30, point 5): the scripts that write the server's
// state files, run here by a real `sh` on a folder of this machine, given all, or only part, of
// what they were told to expect (as a connection cut mid-write leaves them).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { appendFile, writeFileAtomic, type Argv } from '../../src/remote/commands.js'

/** Runs `argv` with `sent` on its standard input. */
function run(argv: Argv, sent: string) {
  const [file = '', ...args] = argv
  return spawnSync(file, args, { input: sent, encoding: 'utf8' })
}

function folder() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-state-'))
  return { dir, file: path.join(dir, 'versions.log') }
}

describe('replacing a file', () => {
  test('all the bytes: installed', () => {
    const { dir, file } = folder()
    writeFileSync(file, 'old\n')
    const r = run(writeFileAtomic(file, 4), 'new\n')
    expect([r.status, readFileSync(file, 'utf8')]).toEqual([0, 'new\n'])
    expect(readdirSync(dir)).toEqual(['versions.log'])
  })

  test('a cut stream: refused, the old file stays whole, nothing left beside it', () => {
    const { dir, file } = folder()
    writeFileSync(file, 'a\nb\nc\n')
    const r = run(writeFileAtomic(file, 100), 'a\nb')
    expect(r.status).toBe(3)
    expect(r.stderr).toContain(`short write: 3 of 100 bytes arrived; ${file} left as it was`)
    expect(readFileSync(file, 'utf8')).toBe('a\nb\nc\n')
    expect(readdirSync(dir)).toEqual(['versions.log'])
  })
})

describe('appending records', () => {
  test('all the bytes: appended as whole lines', () => {
    const { file } = folder()
    writeFileSync(file, '{"v":1}\n')
    expect(run(appendFile(file, 8), '{"v":2}\n').status).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}\n{"v":2}\n')
  })

  test('to a file that does not exist yet', () => {
    const { dir } = folder()
    const file = path.join(dir, '.deploy', 'versions.log')
    expect(run(appendFile(file, 8), '{"v":1}\n').status).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}\n')
  })

  test('a cut stream: refused, the file unchanged, no half line', () => {
    const { dir, file } = folder()
    writeFileSync(file, '{"v":1}\n')
    const r = run(appendFile(file, 16), '{"v":2}\n{"v')
    expect(r.status).toBe(3)
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}\n')
    expect(readdirSync(dir)).toEqual(['versions.log'])
  })

  test('after a line an older writer left unfinished: the new record is a line of its own', () => {
    const { file } = folder()
    writeFileSync(file, '{"v":1}\n{"v":')
    expect(run(appendFile(file, 8), '{"v":3}\n').status).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}\n{"v":\n{"v":3}\n')
  })
})
