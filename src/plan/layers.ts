// Which layer files of a `docker save` archive the server can do without. Pure.
//
// An engine identifies a stack of layers by its chain ID: the first layer's diff ID, then
// sha256("<parent chain ID> <diff ID>") for each layer on top. The classic image store's
// `docker load` takes a layer it already holds under that chain ID from its own store and never
// opens the layer's file in the archive, so a file can be left out when every layer it stands
// for is one whose chain the server has.

import { createHash } from 'node:crypto'

/** The chain ID of each layer of an image whose layers have `diffIds` (bottom first). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = []
  for (const diffId of diffIds) {
    const parent = chains.at(-1)
    chains.push(
      parent === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`
    )
  }
  return chains
}

/** Every chain ID of images whose layers are `images` (one diff-ID list each). */
export function chainsOf(images: readonly (readonly string[])[]): Set<string> {
  return new Set(images.flatMap(diffIds => chainIds(diffIds)))
}

/** An image in a `docker save` archive: its layer files (archive paths) and their diff IDs. */
export interface SavedImage {
  layers: string[]
  diffIds: string[]
}

/**
 * Archive paths of the layer files the server does not need: every layer the file stands for
 * (one file may serve several images) has a chain the server holds. An image whose manifest and
 * config disagree on the number of layers keeps all its files.
 */
export function layerFilesToSkip(
  images: readonly SavedImage[],
  serverChains: Set<string>
): string[] {
  const needed = new Set<string>()
  const held = new Set<string>()
  for (const image of images) {
    const chains = image.layers.length === image.diffIds.length ? chainIds(image.diffIds) : []
    image.layers.forEach((file, i) => {
      const chain = chains[i]
      if (chain !== undefined && serverChains.has(chain)) held.add(file)
      else needed.add(file)
    })
  }
  return [...held].filter(file => !needed.has(file)).sort()
}

/**
 * The diff IDs of the layers below each image's top, when the server holds all of them and
 * none of the tops: the usual redeploy, where only the application layer changed. Then which
 * files to leave out is known while the archive streams (docker/archive.ts
 * `withoutLowerLayers`), with no need for its manifest. Undefined when that is not the case
 * (nothing held, a lower layer missing, a whole image held): the manifest decides.
 */
export function heldLowerLayers(
  images: readonly { diffIds: readonly string[] }[],
  serverChains: Set<string>
): Set<string> | undefined {
  const lower = new Set<string>()
  const tops = new Set<string>()
  for (const { diffIds } of images) {
    const chains = chainIds(diffIds)
    const top = chains.at(-1)
    if (top === undefined || serverChains.has(top)) return undefined
    if (!chains.slice(0, -1).every(c => serverChains.has(c))) return undefined
    diffIds.slice(0, -1).forEach(d => lower.add(d))
    tops.add(diffIds[diffIds.length - 1] as string)
  }
  // A layer that is one image's top and another's lower layer is sent.
  for (const t of tops) lower.delete(t)
  return lower.size > 0 ? lower : undefined
}
