// Pushing an image to a registry with the Engine API (method registry); push errors and the
// pushed digest come out of its progress stream (progress.ts).

import type Docker from 'dockerode'
import { followProgress, type ProgressEvent } from './progress.js'

export interface RegistryAuth {
  username: string
  password: string
  serveraddress: string
}

interface PushEvent extends ProgressEvent {
  status?: string
  aux?: { Tag?: string; Digest?: string }
}

/** Checks the credentials against the registry (the engine's /auth), before anything is pushed. */
export async function checkLogin(docker: Docker, auth: RegistryAuth): Promise<void> {
  try {
    await docker.checkAuth(auth)
  } catch (e) {
    const why = (e as Error).message.replace(/^\(HTTP code \d+\)\s*(unexpected\s*-\s*)?/, '')
    throw new Error(`login to ${auth.serveraddress} failed: ${why.trim()}`)
  }
}

/**
 * Tags `source` as `repo:tag` and pushes it; returns the pushed manifest's digest (sha256:…).
 */
export async function pushImage(
  docker: Docker,
  source: string,
  repo: string,
  tag: string,
  auth: RegistryAuth | undefined,
  log: (line: string) => void
): Promise<string> {
  await docker.getImage(source).tag({ repo, tag })
  const target = `${repo}:${tag}`
  try {
    return await push(docker, target, tag, auth, log)
  } finally {
    // The registry's name was only needed for the push: the runner keeps `source` alone.
    await docker
      .getImage(target)
      .remove({ noprune: true })
      .catch(() => undefined)
  }
}

async function push(
  docker: Docker,
  target: string,
  tag: string,
  auth: RegistryAuth | undefined,
  log: (line: string) => void
): Promise<string> {
  const stream = (await docker
    .getImage(target)
    .push({ tag, ...(auth ? { authconfig: auth } : {}) })) as NodeJS.ReadableStream
  let digest = ''
  const error = await followProgress<PushEvent>(docker, stream, event => {
    if (event.aux?.Digest) digest = event.aux.Digest
    else if (
      event.status &&
      !/^(Preparing|Waiting|Pushing|Layer already exists)/.test(event.status)
    ) {
      log(event.status)
    }
  })
  if (error !== undefined) throw new Error(`pushing ${target} failed: ${error}`)
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new Error(`pushing ${target}: the registry did not report a digest`)
  }
  return digest
}
