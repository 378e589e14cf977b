// Judges the containers of the compose project from `docker inspect` output. Pure.

export interface ContainerState {
  id: string
  name: string
  status: string
  health?: string
  restartCount: number
  exitCode: number
  /** ID of the image the container runs. */
  image?: string
  /** The image as the compose file named it (`Config.Image`), e.g. `app-api:latest`. */
  imageRef?: string
  /** Its compose service (label com.docker.compose.service). */
  service?: string
  /** When it last started: a restart changes it. */
  startedAt?: string
  /** Its networks, name → its IP address there ('' while it has none). */
  networks?: Record<string, string>
}

/** The image a built service must run: `<project>-<service>:<version>` and its ID on the server. */
export interface ExpectedImage {
  /** `<project>-<service>` */
  repo: string
  /** `<project>-<service>:<version>` */
  ref: string
  id: string
}

export interface ContainersVerdict {
  /** Every container runs, and is healthy where it defines a HEALTHCHECK, on the expected image. */
  ready: boolean
  /** A state that waiting will not cure: exited, dead, unhealthy, restarting again and again, or the wrong image. */
  fatal: boolean
  /** Human lines, one per container that is not ready or runs the wrong image. */
  problems: string[]
  notReady: ContainerState[]
}

interface Inspect {
  Id?: string
  Name?: string
  Image?: string
  RestartCount?: number
  Config?: { Image?: string; Labels?: Record<string, string> | null }
  State?: {
    Status?: string
    Restarting?: boolean
    ExitCode?: number
    StartedAt?: string
    Health?: { Status?: string }
  }
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string } | null> | null }
}

export function parseInspect(json: string): ContainerState[] {
  const items = JSON.parse(json) as Inspect[]
  return items.map(c => ({
    id: c.Id ?? '',
    name: (c.Name ?? '').replace(/^\//, ''),
    status: c.State?.Restarting ? 'restarting' : (c.State?.Status ?? 'unknown'),
    health: c.State?.Health?.Status,
    restartCount: c.RestartCount ?? 0,
    exitCode: c.State?.ExitCode ?? 0,
    image: c.Image,
    imageRef: c.Config?.Image,
    service: c.Config?.Labels?.['com.docker.compose.service'],
    startedAt: c.State?.StartedAt,
    ...(c.NetworkSettings?.Networks
      ? {
          networks: Object.fromEntries(
            Object.entries(c.NetworkSettings.Networks).map(([n, v]) => [n, v?.IPAddress ?? ''])
          )
        }
      : {})
  }))
}

const GIVE_UP_AFTER_RESTARTS = 3

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12)
const repoOf = (ref: string) => {
  const at = ref.indexOf('@')
  const name = at >= 0 ? ref.slice(0, at) : ref
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name
}

/**
 * Containers that run a built image's repository at another tag or ID than this version's. A
 * container is matched by its image, not by its service name (a service may share a name with
 * a built image yet run something else). A built image that no container runs is not a
 * problem here: a compose profile may hold its service back, and the compose check before the
 * build has made sure that some service names it.
 */
export function wrongImages(
  containers: ContainerState[],
  expected: readonly ExpectedImage[]
): { problems: string[]; suspects: ContainerState[] } {
  const problems: string[] = []
  const suspects: ContainerState[] = []
  for (const e of expected) {
    const wrong = containers.filter(c => repoOf(c.imageRef ?? '') === e.repo && c.image !== e.id)
    for (const c of wrong) {
      suspects.push(c)
      problems.push(
        `${c.name}${c.service ? ` (service ${c.service})` : ''} runs ${c.imageRef ?? '?'} (${shortId(c.image ?? '')}), not ${e.ref} (${shortId(e.id)}): the compose file likely does not use \${DEPLOY_VERSION} for that image (write image: ${e.repo}:\${DEPLOY_VERSION:-latest})`
      )
    }
  }
  return { problems, suspects }
}

export function judgeContainers(
  containers: ContainerState[],
  expected: readonly ExpectedImage[] = []
): ContainersVerdict {
  if (containers.length === 0) {
    return {
      ready: false,
      fatal: false,
      problems: ['no container of the project is running'],
      notReady: []
    }
  }
  const images = wrongImages(containers, expected)
  const unwell = containers.filter(
    c => c.status !== 'running' || (c.health !== undefined && c.health !== 'healthy')
  )
  const fatal =
    images.problems.length > 0 ||
    unwell.some(
      c =>
        c.status === 'exited' ||
        c.status === 'dead' ||
        c.health === 'unhealthy' ||
        c.restartCount >= GIVE_UP_AFTER_RESTARTS
    )
  const problems = unwell.map(c => {
    const parts = [`${c.name} is ${c.status}`]
    if (c.health !== undefined) parts.push(`health ${c.health}`)
    if (c.status !== 'running') parts.push(`exit code ${c.exitCode}`)
    if (c.restartCount > 0) parts.push(`restarted ${c.restartCount}×`)
    return parts.join(', ')
  })
  const notReady = [...unwell, ...images.suspects.filter(c => !unwell.includes(c))]
  return {
    ready: notReady.length === 0 && images.problems.length === 0,
    fatal,
    problems: [...images.problems, ...problems],
    notReady
  }
}
