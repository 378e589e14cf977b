// A `docker save` archive read once and kept in a temporary file on the runner, for when what to
// send is known only at its end (manifest.json and the image configs come after the layers):
// the engine exports the images once, and the archive is streamed again from the file.

import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { readArchive, type ArchiveContents } from './archive.js'

export interface SpooledArchive {
  /** The images in it (layer files, diff IDs) and each file's size. */
  contents: ArchiveContents
  /** A new stream of the whole archive, from the file. */
  open(): Readable
  /** Removes the file. */
  remove(): Promise<void>
}

/** Writes `archive` into a temporary file while reading its contents. */
export async function spool(archive: Readable): Promise<SpooledArchive> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vd-save-'))
  const file = path.join(dir, 'images.tar')
  const remove = () => rm(dir, { recursive: true, force: true })
  try {
    const [contents] = await Promise.all([
      readArchive(archive),
      pipeline(archive, createWriteStream(file))
    ])
    return { contents, open: () => createReadStream(file), remove }
  } catch (e) {
    archive.destroy()
    await remove()
    throw e
  }
}
