// Builds one image with the Docker Engine API. Build errors arrive inside the JSON progress
// stream (the HTTP status is 200), so the stream is read line by line and its error kept.

import type Docker from 'dockerode'
import { packContext } from './build-context.js'

export interface BuildRequest {
  context: string
  dockerfile: string
  tag: string
  buildArgs: Record<string, string>
}

interface BuildEvent {
  stream?: string
  error?: string
  errorDetail?: { message?: string }
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
  const stream = await docker.buildImage(packContext(request.context, request.dockerfile), {
    t: request.tag,
    dockerfile: request.dockerfile,
    buildargs: request.buildArgs,
    rm: true,
    forcerm: true
  })
  let step = ''
  let error: string | undefined
  let imageId = ''
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: BuildEvent) => {
        if (event.error || event.errorDetail) {
          error = event.errorDetail?.message || event.error
        }
        if (event.aux?.ID) imageId = event.aux.ID
        for (const line of (event.stream ?? '').split('\n')) {
          if (line.trim() === '') continue
          if (/^Step \d+\/\d+ : /.test(line)) step = line.replace(/^Step \d+\/\d+ : /, '')
          log(line)
        }
      }
    )
  })
  if (error !== undefined) throw new BuildError(request.tag, step, error.trim())
  if (imageId === '') imageId = String((await docker.getImage(request.tag).inspect()).Id)
  return imageId
}
