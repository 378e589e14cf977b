// What every command returns to its edge (the action's outputs and summary, or the CLI), and
// what it needs from that edge.

import type Docker from 'dockerode'
import type { Command, DeployOptions } from '../../config/options.js'
import { newestFirst, type DeployRecord } from '../../plan/history.js'
import type { HealthReport } from '../../health/poller.js'
import type { ReleaseFiles } from '../../plan/release-paths.js'
import type { ReleaseRun } from '../../plan/release-command.js'
import type { ContainerState } from '../../health/containers.js'
import type { ServiceStatus } from '../../health/swarm.js'
import type { SessionPorts } from '../server/session.js'
import type { ServiceSwitch } from '../stack/start-first.js'
import type { RouteView } from '../../plan/caddy-config.js'
import { errorMessage, Phases, type Log, type PhaseTiming } from '../io.js'

export type { CheckpointName } from '../server/session.js'

export type CommandStatus = 'success' | 'failed' | 'rolled-back' | 'rollback-failed'

/** How a command ended on one server of several. */
export type ServerStatus =
  | 'success'
  | 'failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'not-switched'
  /** It could not be reached again after its switch began: it may run either version. */
  | 'unknown'

/** One server of a command on several: where it started, where it ended, how it went. */
export interface ServerOutcome {
  host: string
  /** The version it ran before the command ('' if none). */
  previous: string
  /** The version it runs now, as far as the run knows. */
  version: string
  status: ServerStatus
  /** Its own phases, with when each started (the summary's chart). */
  phases: PhaseTiming[]
  /** Why it did not end on the new version, or how putting it back went wrong. */
  failure?: string
  /** status: whether it is healthy; history: its records, newest first. */
  healthy?: boolean
  history?: DeployRecord[]
}

/** The build phase: the builder, and each service's time (built side by side with BuildKit). */
export interface BuildReport {
  builder: string
  services: { service: string; ms: number }[]
}

export interface CommandResult {
  command: Command
  status: CommandStatus
  /** The version deployed, rolled back to, or in service (status). */
  version: string
  previousVersion: string
  method: string
  rolledBack: boolean
  /** Newest first, at most keep-history records. */
  history: DeployRecord[]
  phases: PhaseTiming[]
  health?: HealthReport
  rollbackHealth?: HealthReport
  /** deploy: how the images were built, and each service's build time. */
  build?: BuildReport
  transferredBytes?: number
  /** What the transfer sent against the images' size, and which layers it left out. */
  transferNote?: string
  /** deploy: the files the release carried (the `files` input). */
  files?: ReleaseFiles
  /** status: compose's project directory for the version in service. */
  projectDirectory?: string
  /** Why the step fails; absent on success. */
  failure?: string
  notices: string[]
  /** status: whether the stack is healthy. */
  healthy?: boolean
  /** status: the project's containers (on a swarm: the stack's tasks). */
  containers?: ContainerState[]
  /** status on a swarm: the stack's services, their replicas, versions and tasks' nodes. */
  services?: ServiceStatus[]
  /** status: the newest record of the version in service. */
  running?: DeployRecord
  /** history, status, a refused rollback: the versions a rollback can go to, newest first. */
  restorable?: string[]
  /** deploy: the release command's run (release-command). */
  release?: ReleaseRun
  /** The rollback command's run, when a rollback left a version whose release command ran. */
  undo?: ReleaseRun
  /** unlock: what was done. */
  message?: string
  /** Several servers (`host` lists more than one): each one's outcome, in the order of `host`. */
  hosts?: ServerOutcome[]
  /** How each service was switched (start-first services, the ingress): the switch, then any rollback. */
  switches?: { during: 'switch' | 'rollback'; services: ServiceSwitch[] }[]
  /** status with the ingress: the project's routes and their upstreams. */
  routes?: RouteView[]
}

/** Adds how the services were switched to the result's account (nothing when not known). */
export function noteSwitches(
  result: CommandResult,
  during: 'switch' | 'rollback',
  services: ServiceSwitch[] | undefined
): void {
  if (!services || services.every(s => s.strategy === 'stop-first')) return
  ;(result.switches ??= []).push({ during, services })
}

export interface CommandPorts extends SessionPorts {
  /** The runner's Docker engine. */
  docker: Docker
  /**
   * The runner's environment: what `docker buildx` runs with, and the variables a compose file's
   * `build:` section reads.
   */
  environment: NodeJS.ProcessEnv
  now(): Date
}

export function newResult(o: DeployOptions): CommandResult {
  return {
    command: o.command,
    status: 'failed',
    version: o.version,
    previousVersion: '',
    method: o.method,
    rolledBack: false,
    history: [],
    phases: [],
    notices: []
  }
}

/** The shared frame of a command: its result, its phases, and any error as its failure. */
export async function asCommand(
  o: DeployOptions,
  log: Log,
  body: (result: CommandResult, phases: Phases) => Promise<CommandResult>
): Promise<CommandResult> {
  const result = newResult(o)
  const phases = new Phases(log, result.phases)
  try {
    return await body(result, phases)
  } catch (e) {
    // Failed where no decision was left to make (bad state, no connection, lost connection).
    result.failure = errorMessage(e)
    return result
  }
}

/** A warning that goes to the log and to the job summary. */
export function noticeTo(result: CommandResult, log: Log): (message: string) => void {
  return message => {
    result.notices.push(message)
    log.warn(message)
  }
}

/**
 * How a command that changes the server ends: `records` join its view of the history (oldest
 * first, shared with the caller), the result shows the newest keep-history of it, and no
 * switch is in flight any more.
 */
export function finisher(
  result: CommandResult,
  history: DeployRecord[],
  keepHistory: number,
  ports: Pick<SessionPorts, 'checkpoint'>
): (...records: DeployRecord[]) => CommandResult {
  return (...records) => {
    history.push(...records)
    ports.checkpoint('switching', '')
    result.history = newestFirst(history, keepHistory)
    return result
  }
}
