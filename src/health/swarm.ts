// Judges a swarm stack from `docker service inspect` and `docker inspect --type task` output.
// Pure. A service has converged when its running tasks run its spec's image, as many as it
// wants (one-shot services: their tasks exited 0), and no update of this deploy was paused or
// rolled back by Swarm. Tasks become the ContainerStates the poller and the settle window watch.

import type { ContainerState, ContainersVerdict } from './containers.js'
import type { ProbeResult } from './probes.js'

export interface SwarmService {
  id: string
  name: string
  /** The image its spec runs. */
  image: string
  /** replicated: the replicas wanted; global: undefined. */
  replicas?: number
  /** Runs to completion (restart condition none, or a job mode): judged by exit codes. */
  oneShot: boolean
  update?: { state: string; startedAt?: string; message?: string }
  /** What Swarm does when a task of an update fails (`update_config.failure_action`): pause by default. */
  failureAction?: string
}

export interface SwarmTask {
  id: string
  serviceId: string
  slot?: number
  nodeId: string
  createdAt: string
  desiredState: string
  state: string
  image: string
  exitCode?: number
  error?: string
}

export interface SwarmSnapshot {
  /** The manager's clock when the snapshot was taken. */
  time: string
  services: SwarmService[]
  tasks: SwarmTask[]
}

interface ServiceJson {
  ID?: string
  Spec?: {
    Name?: string
    Mode?: {
      Replicated?: { Replicas?: number }
      Global?: object
      ReplicatedJob?: object
      GlobalJob?: object
    }
    TaskTemplate?: {
      ContainerSpec?: { Image?: string }
      RestartPolicy?: { Condition?: string }
    }
    UpdateConfig?: { FailureAction?: string }
  }
  UpdateStatus?: { State?: string; StartedAt?: string; Message?: string } | null
}

interface TaskJson {
  ID?: string
  ServiceID?: string
  Slot?: number
  NodeID?: string
  CreatedAt?: string
  DesiredState?: string
  Spec?: { ContainerSpec?: { Image?: string } }
  Status?: { State?: string; Err?: string; ContainerStatus?: { ExitCode?: number } }
}

/**
 * Parses the output of `stackSnapshot` (commands.ts): the manager's time on the first line,
 * then `S <service json>` and `T <task json>` lines.
 */
export function parseSnapshot(out: string): SwarmSnapshot {
  const lines = out.split('\n')
  const snapshot: SwarmSnapshot = { time: (lines[0] ?? '').trim(), services: [], tasks: [] }
  for (const line of lines.slice(1)) {
    if (line.startsWith('S ')) snapshot.services.push(serviceOf(JSON.parse(line.slice(2))))
    else if (line.startsWith('T ')) snapshot.tasks.push(taskOf(JSON.parse(line.slice(2))))
  }
  snapshot.services.sort((a, b) => a.name.localeCompare(b.name))
  return snapshot
}

/**
 * Whether a failed `stackSnapshot` only saw a task (or service) go between being listed and being
 * inspected: Swarm removes old tasks as it updates, so the next look is whole again.
 */
export function vanishedMeanwhile(stderr: string): boolean {
  const lines = stderr.split('\n').filter(l => l.trim() !== '')
  return (
    lines.length > 0 &&
    lines.every(l => /\b(task \S+ not found|no such (task|service): \S+)/i.test(l))
  )
}

function serviceOf(s: ServiceJson): SwarmService {
  const mode = s.Spec?.Mode ?? {}
  const condition = s.Spec?.TaskTemplate?.RestartPolicy?.Condition
  const u = s.UpdateStatus
  return {
    id: s.ID ?? '',
    name: s.Spec?.Name ?? '',
    image: s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '',
    ...(mode.Replicated ? { replicas: mode.Replicated.Replicas ?? 1 } : {}),
    oneShot: condition === 'none' || Boolean(mode.ReplicatedJob ?? mode.GlobalJob),
    ...(s.Spec?.UpdateConfig?.FailureAction
      ? { failureAction: s.Spec.UpdateConfig.FailureAction }
      : {}),
    ...(u?.State
      ? {
          update: {
            state: u.State,
            ...(u.StartedAt ? { startedAt: u.StartedAt } : {}),
            ...(u.Message ? { message: u.Message } : {})
          }
        }
      : {})
  }
}

function taskOf(t: TaskJson): SwarmTask {
  return {
    id: t.ID ?? '',
    serviceId: t.ServiceID ?? '',
    ...(t.Slot ? { slot: t.Slot } : {}),
    nodeId: t.NodeID ?? '',
    createdAt: t.CreatedAt ?? '',
    desiredState: t.DesiredState ?? '',
    state: t.Status?.State ?? '',
    image: t.Spec?.ContainerSpec?.Image ?? '',
    ...(t.Status?.ContainerStatus?.ExitCode !== undefined
      ? { exitCode: t.Status.ContainerStatus.ExitCode }
      : {}),
    ...(t.Status?.Err ? { error: t.Status.Err } : {})
  }
}

const FAILED = new Set(['failed', 'rejected', 'orphaned'])
const ROLLED_BACK = new Set(['rollback_started', 'rollback_completed'])
const STUCK = new Set(['paused', 'rollback_paused'])
const time = (t: string | undefined) => (t ? Date.parse(t) : NaN)
const digestOf = (ref: string) => ref.slice(ref.indexOf('@') + 1)
/** Two references name the same image when their digests agree (or, without one, they are equal). */
export const sameImage = (a: string, b: string): boolean =>
  a.includes('@') && b.includes('@') ? digestOf(a) === digestOf(b) : a === b

/** A task as the poller sees a container: a replaced task is a new ID, as a new container is. */
export function taskState(service: SwarmService, t: SwarmTask): ContainerState {
  return {
    id: t.id,
    name: `${service.name}.${t.slot ?? t.nodeId.slice(0, 12)}`,
    status: t.state,
    restartCount: 0,
    exitCode: t.exitCode ?? 0,
    image: t.image,
    imageRef: t.image,
    service: service.name,
    startedAt: t.createdAt
  }
}

export interface SwarmVerdict extends ContainersVerdict {
  /** The tasks that count now, as containers. */
  states: ContainerState[]
}

/**
 * Judges every service of the stack. `expected`: swarm service name → the image reference this
 * version must run (its pinned digest). `since`: when this deploy's switch started, on the
 * manager's clock; tasks and updates older than it belong to earlier deploys and are not held
 * against this one (absent for a plain look, as `status` takes).
 */
export function judgeSwarm(
  snapshot: SwarmSnapshot,
  expected: Readonly<Record<string, string>>,
  since?: string
): SwarmVerdict {
  const problems: string[] = []
  const notReady: ContainerState[] = []
  const states: ContainerState[] = []
  let fatal = false
  // Without `since` (a plain look), the current state counts, not the past of the tasks.
  const after = (t: string | undefined) => since !== undefined && time(t) >= time(since)

  if (snapshot.services.length === 0) {
    return {
      ready: false,
      fatal: false,
      problems: ['no service of the stack exists'],
      notReady: [],
      states: []
    }
  }
  for (const missing of Object.keys(expected).filter(
    n => !snapshot.services.some(s => s.name === n)
  )) {
    problems.push(`${missing} is not a service of the stack`)
    fatal = true
  }

  for (const s of snapshot.services) {
    const want = expected[s.name]
    const onVersion = want === undefined || sameImage(s.image, want)
    // Swarm's update monitor takes a one-shot task that exits, even with 0, for a failure and
    // pauses the update: such a service is judged by its tasks' exit codes alone.
    const update =
      s.update && !s.oneShot && (since === undefined || after(s.update.startedAt))
        ? s.update
        : undefined
    const tasks = snapshot.tasks.filter(t => t.serviceId === s.id)
    const current = tasks.filter(t => sameImage(t.image, s.image))
    const says = update?.message ? `: ${update.message}` : ''

    // Swarm rolls this deploy's update back by itself, or is about to (a task of it failed under
    // failure_action rollback): judged once Swarm is done, so that the action's own rollback never
    // interrupts Swarm's. An interrupted rollback was seen to leave a task no node would take
    // ("host-mode port already in use" on every node, Docker 20.10).
    const failedNow = current.filter(t => FAILED.has(t.state) && after(t.createdAt))
    const rollingBack = update && swarmRollingBack(s, update.state, failedNow.length > 0)
    if (rollingBack) {
      const live = tasks.filter(t => t.desiredState === 'running')
      states.push(...live.map(t => taskState(s, t)))
      notReady.push(...failedNow.map(t => taskState(s, t)))
      problems.push(
        update.state === 'updating'
          ? `${s.name}: ${failedNow.map(t => `${taskState(s, t).name} ${t.state}`).join(', ')}; Swarm rolls the update back by itself (failure_action rollback)${says}`
          : `${s.name}: Swarm is rolling its update back by itself${says}`
      )
      continue
    }

    if (update && STUCK.has(update.state)) {
      fatal = true
      problems.push(`${s.name}: Swarm ${update.state.replace('_', ' ')} its update${says}`)
    } else if (update && ROLLED_BACK.has(update.state) && want === undefined) {
      fatal = true
      problems.push(`${s.name}: Swarm rolled its update back by itself${says}`)
    }
    if (!onVersion) {
      fatal = true
      problems.push(
        update && ROLLED_BACK.has(update.state)
          ? `${s.name}: Swarm rolled it back by itself to ${s.image}${says}`
          : `${s.name} runs ${s.image}, not ${want ?? ''}`
      )
      continue
    }

    const failed = failedNow
    for (const t of failed) {
      const state = taskState(s, t)
      fatal = true
      notReady.push(state)
      problems.push(
        `${state.name} ${t.state}${t.exitCode !== undefined ? ` (exit code ${t.exitCode})` : ''}${t.error ? `: ${t.error}` : ''}`
      )
    }

    if (s.oneShot) {
      // This deploy's runs; when it started none (its spec did not change), the newest one.
      let runs = current.filter(t => after(t.createdAt))
      if (runs.length === 0) runs = newestPerSlot(current)
      const pending = runs.filter(t => t.state !== 'complete' && !FAILED.has(t.state))
      // A newest run from before this deploy (or any, for a plain look) that failed.
      for (const t of runs.filter(r => FAILED.has(r.state) && !failed.includes(r))) {
        fatal = true
        notReady.push(taskState(s, t))
        problems.push(`${taskState(s, t).name} ${t.state} (exit code ${t.exitCode ?? '?'})`)
      }
      states.push(...runs.map(t => taskState(s, t)))
      if (runs.length === 0 || pending.length > 0) {
        notReady.push(...pending.map(t => taskState(s, t)))
        problems.push(`${s.name} has not run to completion yet`)
      }
      continue
    }

    const live = tasks.filter(t => t.desiredState === 'running')
    const running = live.filter(t => t.state === 'running' && sameImage(t.image, s.image))
    states.push(...live.map(t => taskState(s, t)))
    const wanted = s.replicas ?? Math.max(1, live.length)
    const others = live.filter(t => !running.includes(t))
    const updating =
      update !== undefined && (update.state === 'updating' || update.state === 'rollback_started')
    if (running.length < wanted || others.length > 0 || updating) {
      notReady.push(...others.map(t => taskState(s, t)))
      const detail = others.map(t => `${taskState(s, t).name} ${t.state}`).join(', ')
      problems.push(
        `${s.name}: ${running.length}/${wanted} running${updating ? ', update in progress' : ''}${detail ? ` (${detail})` : ''}`
      )
    }
  }
  return { ready: problems.length === 0, fatal, problems, notReady, states }
}

/**
 * A health check's result as the verification counts it on a swarm: `docker stack deploy`
 * returns before Swarm has replaced the tasks, so a check that passes before the stack has
 * converged (`verdict`, the last look) may have reached a task of the version being replaced.
 */
export function countedProbe(result: ProbeResult, verdict: SwarmVerdict | undefined): ProbeResult {
  if (!result.ok || verdict?.ready) return result
  return { ok: false, detail: `${result.detail}, before the stack converged: not counted` }
}

/**
 * Whether Swarm is rolling a service's update back by itself (`state`: its update's state), or is
 * about to: a task of the update failed while it is in progress under failure_action rollback.
 */
export function swarmRollingBack(
  service: Pick<SwarmService, 'failureAction'>,
  state: string,
  taskFailed: boolean
): boolean {
  if (state === 'rollback_started') return true
  return state === 'updating' && service.failureAction === 'rollback' && taskFailed
}

/** The newest task of each slot (of each node, for a global service). */
function newestPerSlot(tasks: SwarmTask[]): SwarmTask[] {
  const newest = new Map<string, SwarmTask>()
  for (const t of tasks) {
    const key = t.slot !== undefined ? String(t.slot) : t.nodeId
    const seen = newest.get(key)
    if (!seen || time(t.createdAt) > time(seen.createdAt)) newest.set(key, t)
  }
  return [...newest.values()]
}

/** One service of the stack as `status` reports it. */
export interface ServiceStatus {
  name: string
  /** `running/desired`; for a one-shot service, `complete/runs`. */
  replicas: string
  image: string
  /** The deployed version whose pushed digest it runs, when the history knows one. */
  version?: string
  /** Each live task: `<name> <state> on <node>`. */
  tasks: string[]
}

/**
 * The services of a stack with their replicas, version and the node of every task.
 * `versions`: the history's pushed digests, image reference → version.
 */
export function serviceStatuses(
  snapshot: SwarmSnapshot,
  nodes: ReadonlyMap<string, string>,
  versions: ReadonlyMap<string, string>
): ServiceStatus[] {
  return snapshot.services.map(s => {
    const tasks = snapshot.tasks.filter(t => t.serviceId === s.id)
    const live = tasks.filter(t => t.desiredState === 'running')
    const shown = s.oneShot ? newestPerSlot(tasks.filter(t => sameImage(t.image, s.image))) : live
    const done = s.oneShot
      ? `${shown.filter(t => t.state === 'complete').length}/${shown.length}`
      : `${live.filter(t => t.state === 'running').length}/${s.replicas ?? live.length}`
    const version = [...versions].find(([ref]) => sameImage(ref, s.image))?.[1]
    return {
      name: s.name,
      replicas: done,
      image: s.image,
      ...(version ? { version } : {}),
      tasks: shown.map(
        t => `${taskState(s, t).name} ${t.state} on ${nodes.get(t.nodeId) ?? t.nodeId.slice(0, 12)}`
      )
    }
  })
}
