// `docker save` of several images from the runner engine as one stream (nothing on disk).

import type Docker from 'dockerode'
import type { Readable } from 'node:stream'

// dockerode has `getImages` (GET /images/get?names=…) but its typings do not declare it.
interface SavesImages {
  getImages(opts: { names: string[] }): Promise<Readable>
}

export async function saveImages(docker: Docker, refs: string[]): Promise<Readable> {
  return (docker as unknown as SavesImages).getImages({ names: refs })
}
