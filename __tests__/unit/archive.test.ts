import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { readArchive, withoutFiles, withoutLowerLayers } from '../../src/docker/archive.js'

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

describe('withoutLowerLayers', () => {
  const hex = (c: string) => c.repeat(64)
  // A real legacy archive: only the top layer's json has a `config`.
  const legacy: Files = [
    [`${hex('1')}/VERSION`, '1.0'],
    [
      `${hex('1')}/json`,
      JSON.stringify({ id: hex('1'), parent: hex('2'), config: { Cmd: ['x'] } })
    ],
    [`${hex('1')}/layer.tar`, layer(1)],
    [`${hex('2')}/VERSION`, '1.0'],
    [`${hex('2')}/json`, JSON.stringify({ id: hex('2'), container_config: {} })],
    [`${hex('2')}/layer.tar`, layer(2)],
    [`${hex('3')}/json`, 'not json'],
    [`${hex('3')}/layer.tar`, layer(3)],
    [`${hex('4')}/layer.tar`, layer(4)],
    ['manifest.json', '[]']
  ]

  test('legacy layout: the layer files whose json has no config are left out as it streams', async () => {
    const filtered = withoutLowerLayers(archiveOf(legacy), new Set(['sha256:unused']))
    const out = await list(filtered.stream)
    // Kept: the top layer, one whose json cannot be read, one without a json before it.
    expect([...out.keys()]).toEqual(
      legacy.map(([n]) => n).filter(n => n !== `${hex('2')}/layer.tar`)
    )
    expect(filtered.skipped).toEqual({ files: 1, bytes: layer(2).length })
    expect(filtered.total()).toBe(legacy.reduce((t, [, c]) => t + Buffer.byteLength(c), 0))
  })

  test('OCI layout: the layer blobs named by a lower diff ID are left out', async () => {
    const oci: Files = [
      [`blobs/sha256/${hex('d')}`, layer(1)],
      [`blobs/sha256/${hex('e')}`, layer(2)],
      ['manifest.json', '[]']
    ]
    const filtered = withoutLowerLayers(archiveOf(oci), new Set([`sha256:${hex('d')}`]))
    expect([...(await list(filtered.stream)).keys()]).toEqual([
      `blobs/sha256/${hex('e')}`,
      'manifest.json'
    ])
    expect(filtered.skipped.files).toBe(1)
  })
})
