// Builds one image with the Docker Engine API; build errors come out of its progress stream
// (progress.ts), with the step that failed.

import type Docker from 'dockerode'
import { packContext } from './build-context.js'
import { followProgress, type ProgressEvent } from './progress.js'

export interface BuildRequest {
  context: string
  dockerfile: string
  tag: string
  buildArgs: Record<string, string>
  /** The Dockerfile stage to build (the Engine API's `target`); absent: the last one. */
  target?: string
  /** The network of RUN steps: `default` (the engine's), `host` or `none`. */
  network?: string
  /** Every file of the context carries this time (seconds): COPY layers the same from any clone. */
  fileTime?: number
}

interface BuildEvent extends ProgressEvent {
  stream?: string
  aux?: { ID?: string }
}

export class BuildError extends Error {
  constructor(
    readonly tag: string,
    readonly step: string,
    detail: string
  ) {
    super(`building ${tag} failed${step ? ` at "${step}"` : ''}: ${detail}`)
    this.name = 'BuildError'
  }
}

export async function buildImage(
  docker: Docker,
  request: BuildRequest,
  log: (line: string) => void
): Promise<string> {
  const stream = await docker.buildImage(
    packContext(request.context, request.dockerfile, request.fileTime),
    {
      t: request.tag,
      dockerfile: request.dockerfile,
      buildargs: request.buildArgs,
      ...(request.target !== undefined ? { target: request.target } : {}),
      ...(request.network !== undefined && request.network !== 'default'
        ? { networkmode: request.network }
        : {}),
      rm: true,
      forcerm: true
    }
  )
  let step = ''
  let imageId = ''
  const error = await followProgress<BuildEvent>(docker, stream, event => {
    if (event.aux?.ID) imageId = event.aux.ID
    for (const line of (event.stream ?? '').split('\n')) {
      if (line.trim() === '') continue
      if (/^Step \d+\/\d+ : /.test(line)) step = line.replace(/^Step \d+\/\d+ : /, '')
      log(line)
    }
  })
  if (error !== undefined) throw new BuildError(request.tag, step, error)
  if (imageId === '') imageId = String((await docker.getImage(request.tag).inspect()).Id)
  return imageId
}
