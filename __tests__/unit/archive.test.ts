import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { readArchive, withoutFiles } from '../../src/docker/archive.js'
import { spool } from '../../src/docker/spooled-save.js'

type Files = [name: string, content: string | Buffer][]

function archiveOf(files: Files): Readable {
  const pack = tar.pack()
  for (const [name, content] of files) pack.entry({ name }, content)
  pack.finalize()
  return pack
}

async function list(archive: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const extract = tar.extract()
  extract.on('entry', (header, body, next) => {
    const chunks: Buffer[] = []
    body.on('data', (c: Buffer) => chunks.push(c))
    body.on('end', () => {
      out.set(header.name, Buffer.concat(chunks).toString('utf8'))
      next()
    })
  })
  await new Promise((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
    archive.pipe(extract)
  })
  return out
}

const config = (diffIds: string[]) =>
  JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } })
// A layer is a tar: it starts with a file name, never with "{".
const layer = (n: number) => Buffer.concat([Buffer.from(`file-${n}`), Buffer.alloc(2000 + n, n)])

const LEGACY: Files = [
  ['aaa/VERSION', '1.0'],
  ['aaa/json', '{"id":"aaa"}'],
  ['aaa/layer.tar', layer(1)],
  ['bbb/VERSION', '1.0'],
  ['bbb/json', '{"id":"bbb","parent":"aaa"}'],
  ['bbb/layer.tar', layer(2)],
  ['cfg1.json', config(['sha256:d1', 'sha256:d2'])],
  [
    'manifest.json',
    JSON.stringify([
      { Config: 'cfg1.json', RepoTags: ['app:v2'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }
    ])
  ],
  ['repositories', '{"app":{"v2":"bbb"}}']
]

const OCI: Files = [
  ['blobs/sha256/c0nf', config(['sha256:d1'])],
  ['blobs/sha256/d1', layer(1)],
  ['blobs/sha256/m4n1', '{"schemaVersion":2}'],
  ['index.json', '{"schemaVersion":2,"manifests":[]}'],
  ['manifest.json', JSON.stringify([{ Config: 'blobs/sha256/c0nf', Layers: ['blobs/sha256/d1'] }])],
  ['oci-layout', '{"imageLayoutVersion":"1.0.0"}']
]

describe('readArchive', () => {
  test('legacy layout: each image with its layer files and diff IDs, and every file size', async () => {
    const contents = await readArchive(archiveOf(LEGACY))
    expect(contents.images).toEqual([
      { layers: ['aaa/layer.tar', 'bbb/layer.tar'], diffIds: ['sha256:d1', 'sha256:d2'] }
    ])
    expect(contents.sizes.get('bbb/layer.tar')).toBe(layer(2).length)
    expect(contents.sizes.size).toBe(LEGACY.length)
  })

  test('OCI layout (Docker 25+): the config is a blob named by the manifest', async () => {
    expect((await readArchive(archiveOf(OCI))).images).toEqual([
      { layers: ['blobs/sha256/d1'], diffIds: ['sha256:d1'] }
    ])
  })

  test('an archive without manifest.json is an error', async () => {
    await expect(readArchive(archiveOf([['x', 'y']]))).rejects.toThrow(/no manifest\.json/)
  })
})

describe('withoutFiles', () => {
  test('drops exactly the named files and keeps every other entry byte for byte', async () => {
    const out = await list(withoutFiles(archiveOf(LEGACY), new Set(['aaa/layer.tar'])))
    const expected = new Map(
      LEGACY.filter(([n]) => n !== 'aaa/layer.tar').map(([n, c]) => [n, c.toString()])
    )
    expect(out).toEqual(expected)
  })

  test('with nothing to drop, the archive is unchanged', async () => {
    const out = await list(withoutFiles(archiveOf(OCI), new Set()))
    expect(out).toEqual(new Map(OCI.map(([n, c]) => [n, c.toString()])))
  })
})

describe('spool', () => {
  test('reads the contents once and gives the whole archive again from its file', async () => {
    const archive = await spool(archiveOf(LEGACY))
    try {
      expect(archive.contents.images).toEqual([
        { layers: ['aaa/layer.tar', 'bbb/layer.tar'], diffIds: ['sha256:d1', 'sha256:d2'] }
      ])
      const expected = new Map(LEGACY.map(([n, c]) => [n, c.toString()]))
      expect(await list(archive.open())).toEqual(expected)
      // As often as the transfer needs it (a refused partial archive, then every layer).
      expect(await list(archive.open())).toEqual(expected)
    } finally {
      await archive.remove()
    }
  })

  test('an unreadable archive is an error, and no file is left behind', async () => {
    const before = readdirSync(tmpdir()).filter(f => f.startsWith('vd-save-'))
    await expect(spool(archiveOf([['x', 'y']]))).rejects.toThrow(/no manifest\.json/)
    expect(readdirSync(tmpdir()).filter(f => f.startsWith('vd-save-'))).toEqual(before)
  })
})
