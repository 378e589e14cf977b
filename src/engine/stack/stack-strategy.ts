// engine/stack: the ways a stack is switched and watched: compose, start-first, swarm, ingress.
//
// How a stack runs on the server, one implementation per orchestrator: compose on one host
// (compose-stack.ts: each service stop-first, or start-first behind the ingress) and a Docker
// Swarm through its manager (swarm-stack.ts), picked by choose-strategy.ts. The phases (switch, verify, status, prune,
// holdings) ask the strategy, never which orchestrator it is.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import type { ComposeFlavor, StackFlavor } from '../../remote/commands.js'
import type { DeployRecord, Release } from '../../plan/history.js'
import type { RouteView } from '../../plan/caddy-config.js'
import type { ContainerState, ContainersVerdict, ExpectedImage } from '../../health/containers.js'
import type { HealthReport, PollerDeps } from '../../health/poller.js'
import type { ServiceStatus } from '../../health/swarm.js'
import type { Switched } from './swarm.js'
import type { Log } from '../io.js'

/** What verify watches once a version is switched. */
export interface StackWatch {
  /** The images the stack's containers must run (compose: the version tags' IDs). */
  expected: ExpectedImage[]
  containers: PollerDeps['containers']
  judge?: PollerDeps['judge']
  /** Wraps the checks' probe (a swarm counts a pass only once its tasks converged). */
  probe?(probe: PollerDeps['probe']): PollerDeps['probe']
}

/** What `status` sees of the stack. */
export interface StackLook {
  verdict: ContainersVerdict
  containers: ContainerState[]
  /** A swarm: its services, their replicas, versions and nodes. */
  services?: ServiceStatus[]
  /** The ingress's routes of the project. */
  routes?: RouteView[]
}

export interface StackStrategy {
  /**
   * The server keeps the images under version and backup tags: backed up, delivered, restored
   * from backups and pruned there. A swarm's stay in the registry, pinned by digest.
   */
  readonly keepsImages: boolean
  /** One-off containers of the stack can run (release-command, rollback-command). */
  readonly runsOneOffs: boolean
  /** Puts `release` in service, its compose file uploaded first when given. */
  switchTo(
    remote: Remote,
    o: DeployOptions,
    flavor: StackFlavor,
    release: Release,
    composeContent: string | undefined,
    log: Log
  ): Promise<Switched | undefined>
  /**
   * Before the switch, while nothing runs differently yet: refuses (throws) what the switch
   * could not do without harm to someone else (a route another project has).
   */
  preflight?(remote: Remote, o: DeployOptions, composeContent: string): Promise<void>
  /** How verify sees the stack after `switched`; throws when it cannot know what must run. */
  watch(
    remote: Remote,
    o: DeployOptions,
    release: Release,
    switched: Switched | undefined
  ): Promise<StackWatch>
  /** The containers (or tasks) to show the logs of when a check failed and none was judged unwell. */
  suspects(remote: Remote, o: DeployOptions, health: HealthReport): Promise<ContainerState[]>
  logsTail(remote: Remote, id: string, lines: number): Promise<string>
  /** `status`: what runs, judged against `release`, the version in service. */
  look(
    remote: Remote,
    o: DeployOptions,
    release: Release,
    history: DeployRecord[],
    log: Log
  ): Promise<StackLook>
  /** Where `release` runs from, and a line saying so. */
  home(o: DeployOptions, release: Release): { directory: string; line: string }
}

/**
 * The compose that runs the stack's one-off containers (release-command, rollback-command), or
 * undefined where a stack has none (a swarm).
 */
export function oneOffFlavor(flavor: StackFlavor): ComposeFlavor | undefined {
  return flavor === 'swarm' ? undefined : flavor
}
