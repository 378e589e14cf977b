// engine/steps: what a command does on one server, step by step, and the way back.
//
// The steps of a deploy on one server, which the deploy (commands/deploy.ts) takes on every
// server of the command: get ready (backup, transfer, release files), cut over (switch and
// verify), and keep the new version (record, prune).

import type Docker from 'dockerode'
import type { DeployOptions } from '../../config/options.js'
import { newRecord, releaseOf, type DeployRecord, type Release } from '../../plan/history.js'
import { chooseRollbackTarget } from '../../plan/rollback-target.js'
import type { HealthReport } from '../../health/poller.js'
import { sendReleaseFiles, type ReleaseFileSet } from './release-files.js'
import type { Shipping } from '../shipping/shipping.js'
import type { Delivery } from '../shipping/transfer.js'
import { backupRunning } from './backup.js'
import { switchTo } from './switch.js'
import type { Switched } from '../stack/swarm.js'
import type { ServiceSwitch } from '../stack/start-first.js'
import { describeUnhealthy, verify } from './verify.js'
import { prune } from './prune.js'
import type { Attempt } from './rollback.js'
import { appendRecords, writeCurrent } from '../server/server-state.js'
import type { ServerSession } from '../server/session.js'
import type { CommandPorts, CommandResult } from '../commands/result.js'
import { errorMessage, type Log, type Phases } from '../io.js'
import { stackStrategy } from '../stack/choose-strategy.js'

/** What the runner built and published for this deploy: the same for every server. */
export interface Built {
  o: DeployOptions
  release: Release
  shipping: Shipping
  images?: Record<string, string>
  files?: ReleaseFileSet
  /** The compose file as it is on the runner. */
  composeContent: string
}

/** What a deploy to the servers works with, once the release is built. */
export interface DeployRun {
  ports: CommandPorts
  log: Log
  result: CommandResult
  phases: Phases
  notice: (m: string) => void
  startedAt: string
}

/** A deploy on one server: what it ran before, what a rollback goes to, and how far it got. */
export interface ServerRun {
  s: ServerSession
  previous: string
  /** The version a rollback goes back to; absent on a first deploy. */
  target?: string
  /** The server's history, oldest first; the records of this run join it. */
  history: DeployRecord[]
  attempt: Attempt
  /** Its switch began: it may run the new version. */
  switched: boolean
  health?: HealthReport
  /** How its services were switched (compose). */
  services?: ServiceSwitch[]
}

export function serverRun(
  s: ServerSession,
  release: Release,
  facts: Attempt['facts'],
  now: () => Date
): ServerRun {
  const previous = s.state.currentVersion
  const target = chooseRollbackTarget(previous, s.state.history)
  return {
    s,
    previous,
    ...(target ? { target } : {}),
    history: [...s.state.history],
    attempt: { release, previous, facts, now },
    switched: false
  }
}

/**
 * Everything before the switch that leaves the running version alone: back up its images, put
 * the new images on the server, send the release files. A swarm keeps its images in the
 * registry, pinned by digest: nothing to back up or deliver there.
 */
export async function getReady(
  r: ServerRun,
  b: Built,
  docker: Docker
): Promise<Delivery | undefined> {
  const { remote, phases, log } = r.s
  const o = r.s.o
  const keepsImages = stackStrategy(o.orchestrator).keepsImages
  if (r.previous && keepsImages) {
    const running = releaseOf(r.history, r.previous, b.release.services)
    await phases.run('backup', () => backupRunning(remote, o, running, log))
  }
  let delivered: Delivery | undefined
  if (b.shipping.deliver && keepsImages) {
    const deliver = b.shipping.deliver
    delivered = await phases.run('transfer', () => deliver(remote, o, docker, b.images, log))
  }
  const preflight = stackStrategy(o.orchestrator).preflight
  if (preflight) await preflight(remote, o, b.composeContent)
  if (b.files) {
    const set = b.files
    await phases.run('release files', () => sendReleaseFiles(remote, o, set, log))
  }
  return delivered
}

/**
 * Switches the server to the new version and verifies it (unless skip-healthcheck); never
 * throws: returns why the new version is not in service and well, if it is not (a lost
 * connection included: the way back connects again).
 */
export async function cutOver(
  r: ServerRun,
  b: Built,
  notice: (m: string) => void
): Promise<string | undefined> {
  const { remote, phases, log, flavor } = r.s
  const o = r.s.o
  r.switched = true
  let switched: Switched | undefined
  try {
    switched = await phases.run('switch', () =>
      switchTo(remote, o, flavor, b.release, b.composeContent, log)
    )
  } catch (e) {
    return `switching to ${o.version} failed: ${errorMessage(e)}`
  }
  r.services = switched?.services
  if (o.skipHealthcheck) {
    notice('health checks skipped (skip-healthcheck: true): the new version was not verified')
    return undefined
  }
  // Any error once the switch began (a lost connection among them) fails the server's checks.
  try {
    const health = await phases.run('verify', () => verify(remote, o, b.release, log, switched))
    r.health = health
    if (health.ok) return undefined
    return await describeUnhealthy(remote, o, o.version, health)
  } catch (e) {
    return `verifying ${o.version} failed: ${errorMessage(e)}`
  }
}

/** The record a verified deploy leaves on the server of `r`: a success, after what it ran. */
export function successRecord(r: ServerRun, b: Built, finishedAt: string): DeployRecord {
  return newRecord(r.attempt.facts, 'success', b.release, r.previous, finishedAt, {
    release: r.attempt.releaseRun
  })
}

/**
 * Records the new version as current and a success (throws when it cannot), then prunes what
 * is no longer kept. A verified version is never undone by bookkeeping: what pruning cannot do
 * is a `notice`, and the next deploy prunes again.
 */
export async function keepNewVersion(
  r: ServerRun,
  b: Built,
  finishedAt: string,
  notice: (m: string) => void
): Promise<void> {
  const { remote, phases, log } = r.s
  const o = r.s.o
  const success = successRecord(r, b, finishedAt)
  await phases.run('record', async () => {
    await writeCurrent(remote, o.deployPath, o.version, o.method)
    await appendRecords(remote, o.deployPath, [success])
    r.history.push(success)
  })
  try {
    await phases.run('prune', () =>
      prune(remote, o, r.history, [o.version, r.target ?? ''], log, notice).then(kept => {
        r.history.splice(0, r.history.length, ...kept)
      })
    )
  } catch (e) {
    notice(
      `pruning failed (${o.version} stays in service; the next deploy prunes again): ${errorMessage(e)}`
    )
  }
}
