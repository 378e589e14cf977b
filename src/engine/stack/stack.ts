// Operations on the server's Docker engine and compose stack, each one remote command or a few.

import type { Remote } from '../../remote/remote.js'
import { RemoteCommandError, lastWords, runChecked } from '../../remote/ssh.js'
import * as cmd from '../../remote/commands.js'
import type { Argv, ComposeFlavor, ComposeTarget, StackFlavor } from '../../remote/commands.js'
import type { Orchestrator } from '../../config/options.js'
import { parseInspect, type ContainerState } from '../../health/containers.js'
import { chainsOf } from '../../plan/layers.js'
import type { Release } from '../../plan/history.js'
import { imageRepo, versionTag } from '../../plan/images.js'
import type { ExpectedImage } from '../../health/containers.js'

export async function checkEngine(remote: Remote): Promise<string> {
  const r = await remote.run(cmd.dockerVersion())
  if (r.code !== 0) {
    throw new Error(
      `the Docker engine on the server does not answer (is dockerd running, and is the SSH user in the docker group?): ${lastWords(r)}`
    )
  }
  return r.stdout.trim()
}

export async function detectCompose(remote: Remote): Promise<ComposeFlavor> {
  const flavor = (await runChecked(remote, cmd.detectCompose())).trim()
  if (flavor === 'v1' || flavor === 'v2') return flavor
  throw new Error(
    'neither "docker compose" (v2) nor "docker-compose" (v1) is installed on the server; install one of them'
  )
}

export async function checkManager(remote: Remote): Promise<void> {
  const r = await remote.run(cmd.swarmRole())
  const [state = '', manager = ''] = r.stdout.trim().split(' ')
  if (r.code !== 0 || state !== 'active' || manager !== 'true') {
    throw new Error(
      r.code !== 0
        ? `cannot read the swarm state of the server: ${lastWords(r)}`
        : state !== 'active'
          ? `the server is not part of a swarm (docker info: Swarm ${state || 'unknown'}): orchestrator swarm needs host to be a manager of an existing swarm (docker swarm init)`
          : 'the server is a swarm worker, not a manager: point host at a manager node (docker node ls there lists it as Leader or Reachable)'
    )
  }
}

/** The compose flavour the server has, or `swarm` once it is checked to be a swarm manager. */
export async function detectFlavor(
  remote: Remote,
  orchestrator: Orchestrator
): Promise<StackFlavor> {
  if (orchestrator !== 'swarm') return detectCompose(remote)
  await checkManager(remote)
  return 'swarm'
}

export async function imageExists(remote: Remote, ref: string): Promise<boolean> {
  return (await remote.run(cmd.imageExists(ref))).code === 0
}

/** The image ID of each of `refs` on the server, in order; undefined for one it lacks. */
export async function imageIds(remote: Remote, refs: string[]): Promise<(string | undefined)[]> {
  const out = (await runChecked(remote, cmd.imageIdsOrMissing(refs))).split('\n')
  return refs.map((_, i) => {
    const id = out[i]?.trim()
    return id && id !== 'missing' ? id : undefined
  })
}

/** The chain ID of every layer stack the server's engine holds (see plan/layers.ts). */
export async function layerChains(remote: Remote): Promise<Set<string>> {
  const out = await runChecked(remote, cmd.imageLayers())
  const images = out
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.startsWith('['))
    .map(l => JSON.parse(l) as string[] | null)
  return chainsOf(images.map(l => l ?? []))
}

export async function tagImage(remote: Remote, source: string, target: string): Promise<void> {
  await runChecked(remote, cmd.dockerTag(source, target))
}

export async function listTags(remote: Remote, repo: string): Promise<string[]> {
  const out = await runChecked(remote, cmd.listTags(repo))
  return out
    .split('\n')
    .map(t => t.trim())
    .filter(t => t !== '' && t !== '<none>')
}

/** Replaces `file` on the server with `content`, whole or not at all (see writeFileAtomic). */
export async function uploadFile(remote: Remote, file: string, content: string): Promise<void> {
  await runChecked(remote, cmd.writeFileAtomic(file, Buffer.byteLength(content)), content)
}

export async function linkServerEnv(
  remote: Remote,
  deployPath: string,
  projectDir: string
): Promise<void> {
  await runChecked(remote, cmd.linkServerEnv(deployPath, projectDir))
}

export async function composeUp(remote: Remote, target: ComposeTarget): Promise<void> {
  await composeRun(remote, cmd.composeUp(target))
}

/** Runs a compose command; a failure carries its last words. */
export async function composeRun(remote: Remote, argv: Argv): Promise<void> {
  const r = await remote.run(argv)
  if (r.code !== 0) throw new RemoteCommandError(argv, r)
}

export async function containerStates(remote: Remote, project: string): Promise<ContainerState[]> {
  return listedStates(remote, cmd.projectContainers(project))
}

/** The states of the containers whose IDs `list` prints, one a line. */
export async function listedStates(remote: Remote, list: Argv): Promise<ContainerState[]> {
  const ids = (await runChecked(remote, list))
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
  if (ids.length === 0) return []
  return inspectStates(remote, ids)
}

export async function inspectStates(remote: Remote, ids: string[]): Promise<ContainerState[]> {
  return parseInspect(await runChecked(remote, cmd.inspectContainers(ids)))
}

export async function logsTail(remote: Remote, id: string, lines: number): Promise<string> {
  const r = await remote.run(cmd.containerLogs(id, lines))
  return `${r.stdout}${r.stderr}`.trimEnd()
}

/** True when the server's engine has `refs`, each the same image as on the runner (`ids`). */
export async function serverHasImages(
  remote: Remote,
  refs: string[],
  ids: (string | undefined)[]
): Promise<boolean> {
  const onServer = await imageIds(remote, refs)
  return refs.every((_, i) => ids[i] !== undefined && onServer[i] === ids[i])
}

/** The image each built service must run for `version`: its version tag's ID on the server. */
export async function expectedImages(
  remote: Remote,
  project: string,
  release: Release
): Promise<ExpectedImage[]> {
  if (release.services.length === 0) return []
  const refs = release.services.map(s => versionTag(project, s, release.version))
  const ids = await imageIds(remote, refs)
  const missing = refs.filter((_, i) => ids[i] === undefined)
  if (missing.length > 0) throw new Error(`the server has no ${missing.join(', ')}`)
  return release.services.map((s, i) => ({
    repo: imageRepo(project, s),
    ref: refs[i] ?? '',
    id: ids[i] ?? ''
  }))
}
