// What the runner's engine holds: image IDs, and the versions built for a project.

import type Docker from 'dockerode'

/** The image ID of `ref` on the runner's engine, or undefined when it has no such image. */
export async function localImageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return String((await docker.getImage(ref).inspect()).Id)
  } catch {
    return undefined
  }
}

/** The layers of `ref` on the runner's engine (diff IDs, bottom first) and its size in bytes. */
export async function imageLayers(
  docker: Docker,
  ref: string
): Promise<{ diffIds: string[]; size: number }> {
  const image = await docker.getImage(ref).inspect()
  return { diffIds: image.RootFS?.Layers ?? [], size: Number(image.Size ?? 0) }
}

/** Each tag of `repo` on the runner's engine, with the time its image was created (seconds). */
export async function tagsOf(docker: Docker, repo: string): Promise<Map<string, number>> {
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [repo] }) })
  const tags = new Map<string, number>()
  for (const image of images) {
    for (const ref of image.RepoTags ?? []) {
      if (ref.startsWith(`${repo}:`)) tags.set(ref.slice(repo.length + 1), image.Created)
    }
  }
  return tags
}
