// The tar transfer against a fake engine and a fake server: how often the engine is asked for
// `docker save`, and what reaches `docker load`. (Bytes on a real wire: e2e/transfer.test.ts.)
import type Docker from 'dockerode'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { parseOptions } from '../../src/config/parse.js'
import { INPUT_NAMES, type RawInputs } from '../../src/config/inputs.js'
import { transferImages } from '../../src/engine/shipping/transfer.js'
import type { Log } from '../../src/engine/io.js'
import type { ExecResult, Remote } from '../../src/remote/remote.js'
import { shJoin } from '../../src/remote/quote.js'
import * as cmd from '../../src/remote/commands.js'

const diff = (c: string) => `sha256:${c.repeat(64)}`
const BASE = diff('b')
const MID = diff('c')
const APP = diff('a')
const dir = (n: number) => String(n).repeat(64)

/**
 * `docker save` of one image, legacy layout: per layer `<id>/json` (a `config` in the top
 * layer's only) then `<id>/layer.tar`; the config and manifest.json after them.
 */
function files(diffIds: string[]): [string, string][] {
  const out: [string, string][] = []
  diffIds.forEach((_, i) => {
    const json = { id: dir(i), ...(i > 0 && { parent: dir(i - 1) }) }
    const top = i === diffIds.length - 1
    out.push([`${dir(i)}/json`, JSON.stringify(top ? { ...json, config: { Cmd: ['x'] } } : json)])
    out.push([`${dir(i)}/layer.tar`, `layer ${i} `.repeat(i === 0 ? 100 : 1)])
  })
  out.push(['cfg.json', JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } })])
  const layers = diffIds.map((_, i) => `${dir(i)}/layer.tar`)
  out.push(['manifest.json', JSON.stringify([{ Config: 'cfg.json', Layers: layers }])])
  return out
}

function archive(diffIds: string[]): Readable {
  const pack = tar.pack()
  for (const [name, content] of files(diffIds)) pack.entry({ name }, content)
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

/** An engine with one image of layers `diffIds` that counts its saves. */
function engine(diffIds = [BASE, APP]) {
  const saves = { count: 0 }
  const docker = {
    getImages: () => {
      saves.count++
      return Promise.resolve(archive(diffIds))
    },
    getImage: () => ({
      inspect: () => Promise.resolve({ RootFS: { Layers: diffIds }, Size: 1000 })
    })
  } as unknown as Docker
  return { docker, saves }
}

/**
 * A server that holds `layers` and answers each `docker load` with the next of `loads`, and
 * says it loaded `tagged` (the image's tag, or only its ID as for an archive without tags).
 */
function server(layers: string[], loads: number[], tagged = 'repo-app:v2') {
  const loaded: string[][] = []
  const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' })
  const remote: Remote = {
    run: argv =>
      Promise.resolve(
        shJoin(argv) === shJoin(cmd.imageLayers()) ? ok(`${JSON.stringify(layers)}\n`) : ok()
      ),
    watch: () => Promise.reject(new Error('not here')),
    pipeInto: async (argv, source) => {
      expect(shJoin(argv)).toBe(shJoin(cmd.dockerLoad()))
      const chunks: Buffer[] = []
      for await (const c of source) chunks.push(c as Buffer)
      loaded.push(await names(Buffer.concat(chunks)))
      const code = loads.shift() ?? 0
      return code === 0
        ? { code, stdout: `Loaded image: ${tagged}\n`, stderr: '' }
        : { code, stdout: '', stderr: 'layer not found' }
    },
    converse: () => Promise.reject(new Error('no tunnels here')),
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

const names2 = (diffIds: string[]) => files(diffIds).map(([n]) => n)
const without = (diffIds: string[], ...left: string[]) =>
  names2(diffIds).filter(n => !left.includes(n))

describe('transferImages', () => {
  test('a server without any of the layers gets the whole archive from one save', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([], [0])
    await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(1)
    expect(loaded).toEqual([names2([BASE, APP])])
  })

  // The usual redeploy: the server holds every layer but the top one, so the lower layers'
  // files are left out as the archive streams (a json without `config`): one save.
  test('a redeploy of a new top layer: one save, streamed without the held layer', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([BASE], [0])
    const delivery = await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(1)
    expect(loaded).toEqual([without([BASE, APP], `${dir(0)}/layer.tar`)])
    expect(delivery.note).toMatch(/: 1 of 2 layer\(s\) already on the server$/)
  })

  // Otherwise which file is which layer is known at the end of an archive: one export is read
  // for it, a second one is sent. Nothing is written to the runner's disk.
  test('a new layer below the top: the manifest of a first save decides what a second sends', async () => {
    const { docker, saves } = engine([BASE, MID, APP])
    const { remote, loaded } = server([BASE], [0])
    const delivery = await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(2)
    expect(loaded).toEqual([without([BASE, MID, APP], `${dir(0)}/layer.tar`)])
    expect(delivery.note).toMatch(/1 of 3 layer\(s\) already on the server/)
  })

  test('a refused partial archive: every layer follows, from a new save', async () => {
    const { docker, saves } = engine()
    const { remote, loaded } = server([BASE], [1, 0])
    const delivery = await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(2)
    expect(loaded).toEqual([without([BASE, APP], `${dir(0)}/layer.tar`), names2([BASE, APP])])
    expect(delivery.note).toMatch(/every layer, after the server refused a partial archive/)
  })

  test('refused after the manifest decided: every layer follows, from a third save', async () => {
    const { docker, saves } = engine([BASE, MID, APP])
    const { remote, loaded } = server([BASE], [1, 0])
    await transferImages(remote, options, docker, log)
    expect(saves.count).toBe(3)
    expect(loaded[1]).toEqual(names2([BASE, MID, APP]))
  })

  test('an image the load did not bring is an error, named', async () => {
    const { docker } = engine()
    const { remote } = server([], [0], `ID: sha256:${'c'.repeat(64)}`)
    await expect(transferImages(remote, options, docker, log)).rejects.toThrow(
      'after docker load, repo-app:v2 is missing on the server'
    )
  })

  test('the server cannot say which layers it holds: nothing is loaded, the error is kept', async () => {
    const { docker } = engine()
    const { remote, loaded } = server([], [0])
    const failing: Remote = {
      ...remote,
      run: () =>
        Promise.resolve({ code: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon' })
    }
    await expect(transferImages(failing, options, docker, log)).rejects.toThrow(
      /Cannot connect to the Docker daemon/
    )
    expect(loaded).toEqual([])
  })
})
