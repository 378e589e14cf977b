// Reading and filtering a `docker save` archive as a stream, with tar-stream: never a whole
// image in memory. Both layouts: the legacy one (`manifest.json`, `<id>/layer.tar`, config
// `<id>.json`) and the OCI one of Docker 25+ (`index.json`, `blobs/sha256/…`, and the same
// `manifest.json` naming blobs).

import type { Readable } from 'node:stream'
import tar from 'tar-stream'
import type { SavedImage } from '../plan/layers.js'

// manifest.json and image configs are JSON files of a few kB; a layer is a tar, never JSON.
const MAX_JSON = 4 * 1024 * 1024

interface ManifestEntry {
  Config?: string
  Layers?: string[]
}

/** What a save archive holds: its images (layer files and diff IDs) and each file's size. */
export interface ArchiveContents {
  images: SavedImage[]
  sizes: Map<string, number>
}

/**
 * Reads a save archive to its end: keeps manifest.json and the image configs (the small JSON
 * files), only counts the rest.
 */
export function readArchive(archive: Readable): Promise<ArchiveContents> {
  return new Promise((resolve, reject) => {
    const json = new Map<string, string>()
    const sizes = new Map<string, number>()
    const extract = tar.extract()
    extract.on('entry', (header, body, next) => {
      sizes.set(header.name, header.size ?? 0)
      if (header.type !== 'file' || (header.size ?? 0) > MAX_JSON) {
        body.on('end', next)
        body.resume()
        return
      }
      const chunks: Buffer[] = []
      body.on('data', (c: Buffer) => chunks.push(c))
      body.on('end', () => {
        const text = Buffer.concat(chunks)
        if (text[0] === 0x7b /* { */ || text[0] === 0x5b /* [ */)
          json.set(header.name, text.toString('utf8'))
        next()
      })
    })
    extract.on('finish', () => {
      try {
        resolve({ images: imagesOf(json), sizes })
      } catch (e) {
        reject(e)
      }
    })
    extract.on('error', reject)
    archive.on('error', e => extract.destroy(e))
    archive.pipe(extract)
  })
}

function imagesOf(json: Map<string, string>): SavedImage[] {
  const manifest = json.get('manifest.json')
  if (manifest === undefined) throw new Error('the docker save archive has no manifest.json')
  return (JSON.parse(manifest) as ManifestEntry[]).map(entry => {
    const config = entry.Config === undefined ? undefined : json.get(entry.Config)
    const diffIds = config
      ? ((JSON.parse(config) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [])
      : []
    return { layers: entry.Layers ?? [], diffIds }
  })
}

/** The archive without the files named in `leaveOut`; every other entry unchanged. */
export function withoutFiles(archive: Readable, leaveOut: ReadonlySet<string>): Readable {
  const extract = tar.extract()
  const pack = tar.pack()
  extract.on('entry', (header, body, next) => {
    if (leaveOut.has(header.name)) {
      body.on('end', next)
      body.resume()
      return
    }
    const entry = pack.entry(header, next)
    body.pipe(entry)
  })
  extract.on('finish', () => pack.finalize())
  extract.on('error', e => pack.destroy(e))
  archive.on('error', e => extract.destroy(e))
  archive.pipe(extract)
  return pack
}

/** What withoutLowerLayers left out and kept, complete once its stream has ended. */
export interface Filtered {
  stream: Readable
  /** Bytes of the layer files left out, and how many. */
  skipped: { files: number; bytes: number }
  /** Bytes of every file of the archive. */
  total: () => number
}

/**
 * The archive without the files of layers below each image's top (`lower`: their diff IDs),
 * decided as it streams, without its manifest. Legacy layout: a layer's `<id>/json` comes
 * before its `<id>/layer.tar`, and only an image's top layer has a `config` there, so a
 * `layer.tar` whose json has none is a lower layer. OCI layout: a layer file is named by its
 * diff ID (`blobs/sha256/<hex>`). A layer file this cannot place is kept.
 */
export function withoutLowerLayers(archive: Readable, lower: ReadonlySet<string>): Filtered {
  const extract = tar.extract()
  const pack = tar.pack()
  const skipped = { files: 0, bytes: 0 }
  let total = 0
  // Legacy layout: the directories whose json says they are not an image's top layer.
  const lowerDirs = new Set<string>()
  const isLower = (name: string): boolean => {
    const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)
    if (blob) return lower.has(`sha256:${blob[1]}`)
    const legacy = /^([0-9a-f]{64})\/layer\.tar$/.exec(name)
    return legacy !== null && lowerDirs.has(legacy[1] as string)
  }
  extract.on('entry', (header, body, next) => {
    const size = header.size ?? 0
    total += size
    if (header.type === 'file' && isLower(header.name)) {
      skipped.files++
      skipped.bytes += size
      body.on('end', next)
      body.resume()
      return
    }
    const dir = /^([0-9a-f]{64})\/json$/.exec(header.name)?.[1]
    if (dir === undefined || size > MAX_JSON) {
      body.pipe(pack.entry(header, next))
      return
    }
    const chunks: Buffer[] = []
    body.on('data', (c: Buffer) => chunks.push(c))
    body.on('end', () => {
      const text = Buffer.concat(chunks)
      if (!hasConfig(text)) lowerDirs.add(dir)
      pack.entry(header, text, next)
    })
  })
  extract.on('finish', () => pack.finalize())
  extract.on('error', e => pack.destroy(e))
  archive.on('error', e => extract.destroy(e))
  archive.pipe(extract)
  return { stream: pack, skipped, total: () => total }
}

/** Whether a legacy layer json has an image config (only an image's top layer has one). */
function hasConfig(json: Buffer): boolean {
  try {
    const parsed = JSON.parse(json.toString('utf8')) as { config?: unknown }
    return parsed.config !== undefined && parsed.config !== null
  } catch {
    // Unreadable: treated as a top layer, so its file is kept.
    return true
  }
}
