// Judges the containers of the compose project from `docker inspect` output. Pure.

export interface ContainerState {
  id: string
  name: string
  status: string
  health?: string
  restartCount: number
  exitCode: number
}

export interface ContainersVerdict {
  /** Every container runs, and is healthy where it defines a HEALTHCHECK. */
  ready: boolean
  /** A state that waiting will not cure: exited, dead, unhealthy, or restarting again and again. */
  fatal: boolean
  /** Human lines, one per container that is not ready. */
  problems: string[]
  notReady: ContainerState[]
}

interface Inspect {
  Id?: string
  Name?: string
  RestartCount?: number
  State?: {
    Status?: string
    Restarting?: boolean
    ExitCode?: number
    Health?: { Status?: string }
  }
}

export function parseInspect(json: string): ContainerState[] {
  const items = JSON.parse(json) as Inspect[]
  return items.map(c => ({
    id: c.Id ?? '',
    name: (c.Name ?? '').replace(/^\//, ''),
    status: c.State?.Restarting ? 'restarting' : (c.State?.Status ?? 'unknown'),
    health: c.State?.Health?.Status,
    restartCount: c.RestartCount ?? 0,
    exitCode: c.State?.ExitCode ?? 0
  }))
}

const GIVE_UP_AFTER_RESTARTS = 3

export function judgeContainers(containers: ContainerState[]): ContainersVerdict {
  if (containers.length === 0) {
    return {
      ready: false,
      fatal: false,
      problems: ['no container of the project is running'],
      notReady: []
    }
  }
  const notReady = containers.filter(
    c => c.status !== 'running' || (c.health !== undefined && c.health !== 'healthy')
  )
  const fatal = notReady.some(
    c =>
      c.status === 'exited' ||
      c.status === 'dead' ||
      c.health === 'unhealthy' ||
      c.restartCount >= GIVE_UP_AFTER_RESTARTS
  )
  const problems = notReady.map(c => {
    const parts = [`${c.name} is ${c.status}`]
    if (c.health !== undefined) parts.push(`health ${c.health}`)
    if (c.status !== 'running') parts.push(`exit code ${c.exitCode}`)
    if (c.restartCount > 0) parts.push(`restarted ${c.restartCount}×`)
    return parts.join(', ')
  })
  return { ready: notReady.length === 0, fatal, problems, notReady }
}
