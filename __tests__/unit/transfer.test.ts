// The tar transfer against a fake engine and a fake server: how often the engine is asked for
// `docker save`, and what reaches `docker load`. (Bytes on a real wire: e2e/transfer.test.ts.)
import type Docker from 'dockerode'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { parseOptions } from '../../src/config/parse.js'
import { INPUT_NAMES, type RawInputs } from '../../src/config/inputs.js'
import { transferImages } from '../../src/engine/transfer.js'
import type { Log } from '../../src/engine/io.js'
import type { ExecResult, Remote } from '../../src/remote/ssh.js'
import { shJoin } from '../../src/remote/quote.js'
import * as cmd from '../../src/remote/commands.js'

const BASE = `sha256:${'b'.repeat(64)}`
const APP = `sha256:${'a'.repeat(64)}`
const FILES: [string, string][] = [
  ['base/layer.tar', 'base layer'.repeat(100)],
  ['app/layer.tar', 'app layer'],
  ['cfg.json', JSON.stringify({ rootfs: { type: 'layers', diff_ids: [BASE, APP] } })],
  [
    'manifest.json',
    JSON.stringify([{ Config: 'cfg.json', Layers: ['base/layer.tar', 'app/layer.tar'] }])
  ]
]

function archive(): Readable {
  const pack = tar.pack()
  for (const [name, content] of FILES) pack.entry({ name }, content)
  pack.finalize()
  return pack
}

async function names(gzipped: Buffer): Promise<string[]> {
  const out: string[] = []
  const extract = tar.extract()
  extract.on('entry', (header, body, next) => {
    out.push(header.name)
    body.on('end', next)
    body.resume()
  })
  await new Promise((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
    Readable.from([gunzipSync(gzipped)]).pipe(extract)
  })
  return out
}

/** An engine with one image (BASE, APP) that counts its saves. */
function engine() {
  const saves = { count: 0 }
  const docker = {
    getImages: () => {
      saves.count++
      return Promise.resolve(archive())
    },
    getImage: () => ({
      inspect: () => Promise.resolve({ RootFS: { Layers: [BASE, APP] }, Size: 1000 })
    })
  } as unknown as Docker
  return { docker, saves }
}

/** A server that holds `layers` and answers each `docker load` with the next of `loads`. */
function server(layers: string[], loads: number[]) {
  const loaded: string[][] = []
  const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' })
  const remote: Remote = {
    run: argv =>
      Promise.resolve(
        shJoin(argv) === shJoin(cmd.imageLayers()) ? ok(`${JSON.stringify(layers)}\n`) : ok()
      ),
    pipeInto: async (_argv, source) => {
      const chunks: Buffer[] = []
      for await (const c of source) chunks.push(c as Buffer)
      loaded.push(await names(Buffer.concat(chunks)))
      const code = loads.shift() ?? 0
      return { code, stdout: '', stderr: code === 0 ? '' : 'layer not found' }
    },
    tunnel: () => Promise.reject(new Error('no tunnels here')),
    close: () => undefined
  }
  return { remote, loaded }
}

const log: Log = { info: () => undefined, warn: () => undefined, group: (_n, fn) => fn() }
const raw = Object.fromEntries(INPUT_NAMES.map(n => [n, ''])) as RawInputs
const options = parseOptions(
  {
    ...raw,
    services: 'app=./app',
    host: 'example.test',
    key: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n',
    fingerprint: `SHA256:${'A'.repeat(43)}`,
    version: 'v2'
  },
  { workspace: '/work/repo', sha: 'e4534e6', now: new Date() }
)

describe('transferImages', () => {
  test('a server without any of the layers gets the whole archive from one save', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([], [0])
    await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(1)
    expect(loaded).toEqual([FILES.map(([n]) => n)])
  })

  test('a redeploy: one save, and docker load gets the archive without the held layer', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([BASE], [0])
    const delivery = await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(1)
    expect(loaded).toEqual([['app/layer.tar', 'cfg.json', 'manifest.json']])
    expect(delivery.note).toMatch(/1 of 2 layer\(s\) already on the server/)
  })

  test('a refused partial archive: every layer follows, still from the one save', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([BASE], [1, 0])
    const delivery = await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(1)
    expect(loaded).toEqual([['app/layer.tar', 'cfg.json', 'manifest.json'], FILES.map(([n]) => n)])
    expect(delivery.note).toMatch(/every layer, after the server refused a partial archive/)
  })
})
