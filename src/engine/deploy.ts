// The deploy, as a story: validate → (registry: login) → build (or, skip-build, find the
// images built) → (registry: push) → connect → lock → inspect server → backup → transfer →
// (files) release files → (release-command) release → switch → verify → record → prune; and when
// the switch or verification fails, the rollback path (rollback.ts), which first runs the
// rollback command when the release command ran. Each phase lives in its own file beside this
// one; how images travel is the method's Shipping (shipping.ts), chosen once.

import { readFileSync } from 'node:fs'
import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import { newRecord, releaseOf, runFacts, type Release } from '../plan/history.js'
import { chooseRollbackTarget } from '../plan/rollback-target.js'
import type { ReleaseRun } from '../plan/release-command.js'
import {
  checkComposeFile,
  checkLocalFiles,
  checkReleaseServices,
  checkSwarmFile
} from './local-files.js'
import { collectReleaseFiles, sendReleaseFiles, type ReleaseFileSet } from './release-files.js'
import { buildImages } from './build-images.js'
import { findBuiltVersion } from './find-built.js'
import { shippingFor } from './shipping.js'
import { backupRunning } from './backup.js'
import { switchTo } from './switch.js'
import { OneOffFailed, runReleaseCommand } from './release-step.js'
import type { Switched } from './swarm.js'
import { describeUnhealthy, verify } from './verify.js'
import { prune } from './prune.js'
import { failedRecord as failedRecordOf, keepFailed, rollBack, type Attempt } from './rollback.js'
import { appendRecords, writeCurrent } from './server-state.js'
import { withLockedServer } from './session.js'
import { asCommand, finisher, noticeTo, type CommandPorts, type CommandResult } from './result.js'
import { errorMessage, type Log, type Phases } from './io.js'

/** A switch that a killed run left unverified: the post step finishes it. */
export interface SwitchInFlight {
  /** deploy (when absent) or rollback */
  command?: string
  version: string
  previous: string
  target: string
  startedAt: string
  /** The deploy's release command ran (how it ended): a rollback first runs the rollback command. */
  released?: ReleaseRun
}

export function deploy(
  options: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  // A failure thrown out of the phases left no decision to make (build error, no connection).
  return asCommand(options, log, (result, phases) => runPhases(options, ports, log, result, phases))
}

async function runPhases(
  options: DeployOptions,
  ports: CommandPorts,
  log: Log,
  result: CommandResult,
  phases: Phases
): Promise<CommandResult> {
  const startedAt = ports.now().toISOString()
  const notice = noticeTo(result, log)
  const shipping = shippingFor(options.method)

  // Nothing on the server is touched until the images are built (and pushed).
  let files: ReleaseFileSet | undefined
  await phases.run('validate', async () => {
    checkLocalFiles(options)
    for (const warning of checkComposeFile(options)) notice(warning)
    if (options.orchestrator === 'swarm') for (const w of checkSwarmFile(options)) notice(w)
    checkReleaseServices(options)
    if (options.files.length > 0) files = collectReleaseFiles(options)
  })
  result.files = files?.summary
  await shipping.prepare?.(options, ports.docker, phases)
  let o = options
  if (o.skipBuild) {
    const version = await phases.run('find images', () => findBuiltVersion(o, ports.docker, log))
    o = { ...o, version }
    result.version = version
  } else {
    await phases.run('build', () => buildImages(o, ports.docker, log))
  }
  const images = await shipping.publish?.(o, ports.docker, phases, log)
  const release: Release = {
    version: o.version,
    services: serviceNames(o),
    images,
    ...(files ? { files: files.summary } : {})
  }

  return withLockedServer(o, ports, phases, log, notice, async session => {
    const { remote, state, flavor } = session
    const now = () => ports.now().toISOString()
    result.previousVersion = state.currentVersion
    const previous = state.currentVersion
    const target = chooseRollbackTarget(previous, state.history)
    const history = [...state.history]
    const attempt: Attempt = { release, previous, facts: runFacts(o, startedAt), now: ports.now }
    const finish = finisher(result, history, o.keepHistory, ports)
    const composeContent = readFileSync(o.composeFile, 'utf8')

    // A swarm's images stay in the registry, pinned by digest: nothing to back up or pull here.
    const swarm = flavor === 'swarm'
    try {
      if (previous && !swarm) {
        const running = releaseOf(history, previous, release.services)
        await phases.run('backup', () => backupRunning(remote, o, running, log))
      }
      if (shipping.deliver && !swarm) {
        const deliver = shipping.deliver
        const delivered = await phases.run('transfer', () =>
          deliver(remote, o, ports.docker, images, log)
        )
        result.transferredBytes = delivered?.bytes
        result.transferNote = delivered?.note
      }
      if (files) {
        const set = files
        await phases.run('release files', () => sendReleaseFiles(remote, o, set, log))
      }
      if (o.releaseCommand && flavor !== 'swarm') {
        const compose = flavor
        attempt.releaseRun = await phases.run('release', () =>
          runReleaseCommand(remote, o, compose, release, previous, composeContent, log)
        )
        result.release = attempt.releaseRun
      }
      // Never switch under a lock that another deploy has taken over.
      const lost = session.lockLost()
      if (lost) throw new Error(`${lost}; stopped before the switch`)
    } catch (e) {
      // The running stack was not touched: record the attempt (if the server still answers) and stop.
      result.failure = `${errorMessage(e)}\nThe running version (${previous || 'none'}) was not touched.`
      if (e instanceof OneOffFailed) attempt.releaseRun = result.release = e.run
      const failedRecord = failedRecordOf(attempt)
      try {
        await appendRecords(remote, o.deployPath, [failedRecord])
        return finish(failedRecord)
      } catch (r) {
        notice(`could not record the failed attempt: ${errorMessage(r)}`)
        return finish()
      }
    }

    const inFlight: SwitchInFlight = {
      version: o.version,
      previous,
      target: target ?? '',
      startedAt,
      ...(attempt.releaseRun ? { released: attempt.releaseRun } : {})
    }
    ports.checkpoint('switching', JSON.stringify(inFlight))
    let failure: string | undefined
    let switched: Switched | undefined
    try {
      switched = await phases.run('switch', () =>
        switchTo(remote, o, flavor, release, composeContent)
      )
    } catch (e) {
      failure = `switching to ${o.version} failed: ${errorMessage(e)}`
    }
    if (!failure && o.skipHealthcheck) {
      notice('health checks skipped (skip-healthcheck: true): the new version was not verified')
    } else if (!failure) {
      const health = await phases.run('verify', () => verify(remote, o, release, log, switched))
      result.health = health
      if (!health.ok) failure = await describeUnhealthy(remote, o, o.version, health)
    }

    if (!failure) {
      const success = newRecord(attempt.facts, 'success', release, previous, now(), {
        release: attempt.releaseRun
      })
      await phases.run('record', async () => {
        await writeCurrent(remote, o.deployPath, o.version, o.method)
        await appendRecords(remote, o.deployPath, [success])
        history.push(success)
      })
      await phases.run('prune', () =>
        prune(remote, o, history, [o.version, target ?? ''], log).then(kept => {
          history.splice(0, history.length, ...kept)
        })
      )
      result.status = 'success'
      return finish()
    }

    if (o.noRollback || !target) {
      const records = await keepFailed(remote, o, attempt)
      const why = o.noRollback
        ? `no-rollback is set: the failed version ${o.version} was left in place for inspection`
        : 'there is no previous version to roll back to (first deploy): the failed version was left in place'
      result.failure = `${failure}\n${why}.`
      return finish(...records)
    }

    log.warn(`${failure}\nRolling back to ${target}.`)
    result.rolledBack = true
    const back = await rollBack(
      remote,
      o,
      attempt,
      { method: state.currentMethod || o.method, ...releaseOf(history, target, release.services) },
      flavor,
      phases,
      log
    )
    result.rollbackHealth = back.health
    result.undo = back.undo
    if (back.problem) {
      result.status = 'rollback-failed'
      result.failure = `${failure}\nThe rollback to ${target} failed too: ${back.problem}`
    } else {
      result.status = 'rolled-back'
      result.failure = o.skipHealthcheck
        ? `${failure}\nRolled back to ${target} (not verified: skip-healthcheck is set).`
        : `${failure}\nRolled back to ${target}, which is healthy again.`
    }
    return finish(...back.records)
  })
}
