import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import tar from 'tar-stream'
import type { Readable } from 'node:stream'
import { collectReleaseFiles, packFiles } from '../../src/engine/steps/release-files.js'

let root: string
let ws: string

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'vd-files-'))
  ws = path.join(root, 'ws')
  mkdirSync(path.join(ws, 'deploy/nginx'), { recursive: true })
  mkdirSync(path.join(ws, 'deploy/site/empty'), { recursive: true })
  writeFileSync(path.join(ws, 'deploy/docker-compose.yml'), 'services: {}\n')
  writeFileSync(path.join(ws, 'deploy/nginx/default.conf'), 'server {}\n')
  writeFileSync(path.join(ws, 'deploy/site/index.html'), '<h1>hi</h1>\n')
  writeFileSync(path.join(ws, 'deploy/site/run.sh'), '#!/bin/sh\n')
  chmodSync(path.join(ws, 'deploy/site/run.sh'), 0o700)
  chmodSync(path.join(ws, 'deploy/site/index.html'), 0o600)
  chmodSync(path.join(ws, 'deploy/nginx/default.conf'), 0o666)
  writeFileSync(path.join(root, 'outside.txt'), 'secret\n')
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

const collect = (files: string[], composeFile = path.join(ws, 'deploy/docker-compose.yml')) =>
  collectReleaseFiles({ workspace: ws, files, composeFile })

async function unpack(stream: Readable): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const extract = tar.extract()
  extract.on('entry', (header, body, next) => {
    const chunks: Buffer[] = []
    body.on('data', (c: Buffer) => chunks.push(c))
    body.on('end', () => {
      out[header.name] =
        header.type === 'directory'
          ? `dir ${header.mode?.toString(8)}`
          : `${header.mode?.toString(8)} ${Buffer.concat(chunks).toString()}`
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
    stream.pipe(extract)
  })
  return out
}

test('files and folders (walked) keep their paths; parents come first; files keep their modes, never writable by everyone', async () => {
  const set = collect(['deploy/nginx/default.conf', 'deploy/site'])
  expect(set.entries.map(e => `${e.kind} ${e.rel}`)).toEqual([
    'dir deploy',
    'dir deploy/nginx',
    'file deploy/nginx/default.conf',
    'dir deploy/site',
    'dir deploy/site/empty',
    'file deploy/site/index.html',
    'file deploy/site/run.sh'
  ])
  expect(set.summary).toEqual({ count: 3, bytes: 10 + 12 + 10, dir: 'deploy' })
  expect(await unpack(packFiles(set.entries))).toEqual({
    'deploy/': 'dir 755',
    'deploy/nginx/': 'dir 755',
    'deploy/nginx/default.conf': '664 server {}\n',
    'deploy/site/': 'dir 755',
    'deploy/site/empty/': 'dir 755',
    'deploy/site/index.html': '600 <h1>hi</h1>\n',
    'deploy/site/run.sh': '700 #!/bin/sh\n'
  })
})

test('a symbolic link inside the workspace ships what it points to', async () => {
  symlinkSync('../nginx/default.conf', path.join(ws, 'deploy/site/linked.conf'))
  const set = collect(['deploy/site'])
  const files = await unpack(packFiles(set.entries))
  expect(files['deploy/site/linked.conf']).toBe('664 server {}\n')
})

test('a symbolic link that leads outside the workspace is refused, however deep', () => {
  symlinkSync(path.join(root, 'outside.txt'), path.join(ws, 'deploy/site/escape.txt'))
  expect(() => collect(['deploy/site'])).toThrow(
    /^Input "files": "deploy\/site": deploy\/site\/escape\.txt leads outside the workspace/
  )
  symlinkSync(root, path.join(ws, 'up'))
  expect(() => collect(['up/outside.txt'])).toThrow(/leads outside the workspace/)
})

test('a missing path, a dangling link and a link loop', () => {
  expect(() => collect(['deploy/nope.conf'])).toThrow(
    /^Input "files": "deploy\/nope\.conf" does not exist in the workspace/
  )
  symlinkSync('missing', path.join(ws, 'deploy/site/dangling'))
  expect(() => collect(['deploy/site'])).toThrow(/dangling is a symbolic link that points nowhere/)
  rmSync(path.join(ws, 'deploy/site/dangling'))
  symlinkSync('..', path.join(ws, 'deploy/site/loop'))
  // The loop is walked once: deploy/site/loop is deploy/ again, not followed back into site.
  const rels = collect(['deploy/site']).entries.map(e => e.rel)
  expect(rels).toContain('deploy/site/loop/nginx/default.conf')
  expect(rels.filter(r => r.includes('loop/site/loop'))).toEqual([])
})

test('a .env where compose reads it is refused; the compose file itself is left out quietly', () => {
  writeFileSync(path.join(ws, 'deploy/.env'), 'PASSWORD=x\n')
  expect(() => collect(['deploy'])).toThrow(/"deploy": deploy\/\.env would hide the server's \.env/)
  writeFileSync(path.join(ws, 'docker-compose.yml'), 'services: {}\n')
  const top = collect(['docker-compose.yml', 'deploy/nginx'], path.join(ws, 'docker-compose.yml'))
  expect(top.entries.map(e => e.rel)).toEqual([
    'deploy',
    'deploy/nginx',
    'deploy/nginx/default.conf'
  ])
  expect(top.summary.dir).toBe('.')
  expect(() => collect(['docker-compose.yml'])).toThrow(
    /would replace the release's stored compose file/
  )
})
