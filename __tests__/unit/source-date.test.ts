// SOURCE_DATE_EPOCH: the job's own, else the commit's time; and a legacy build context whose
// files all carry it.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import tar from 'tar-stream'
import { commitTime, sourceDateEpoch } from '../../src/git/commit-time.js'
import { packContext } from '../../src/docker/build-context.js'

const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
const headTime = Number(
  execFileSync('git', ['log', '-1', '--format=%ct', 'HEAD'], { encoding: 'utf8' })
)

test("the commit's time, from git", async () => {
  expect(await commitTime(process.cwd(), head)).toBe(headTime)
  expect(await sourceDateEpoch({}, process.cwd(), head)).toBe(headTime)
})

test("the job's SOURCE_DATE_EPOCH wins", async () => {
  expect(await sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }, process.cwd(), head)).toBe(
    1700000000
  )
  // Not a number: the commit's time.
  expect(await sourceDateEpoch({ SOURCE_DATE_EPOCH: 'soon' }, process.cwd(), head)).toBe(headTime)
})

test('unknown outside a clone, for a commit it does not have, or for what is no commit name', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-no-git-'))
  expect(await commitTime(dir, head)).toBeUndefined()
  expect(await commitTime(process.cwd(), 'f'.repeat(40))).toBeUndefined()
  expect(await commitTime(process.cwd(), '--help')).toBeUndefined()
})

test('a legacy build context with a file time: every entry carries it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-context-'))
  mkdirSync(path.join(dir, 'src'))
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /\n')
  writeFileSync(path.join(dir, 'src', 'a.txt'), 'a')
  const times = async (fileTime?: number) => {
    const extract = tar.extract()
    const seen: [string, number][] = []
    extract.on('entry', (header, stream, next) => {
      seen.push([header.name, (header.mtime ?? new Date(0)).getTime() / 1000])
      stream.resume()
      stream.on('end', next)
    })
    const done = new Promise(resolve => extract.on('finish', resolve))
    packContext(dir, 'Dockerfile', fileTime).pipe(extract)
    await done
    return seen
  }
  expect(await times(1700000000)).toEqual([
    ['Dockerfile', 1700000000],
    ['src/a.txt', 1700000000]
  ])
  expect((await times()).every(([, t]) => t !== 1700000000)).toBe(true)
})
