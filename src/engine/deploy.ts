// The deploy, as a story: validate → (registry: login) → build (or, skip-build, find the
// images built) → (registry: push) → connect → lock → inspect server → backup → transfer →
// (files) release files → (release-command) release → switch → verify → record → prune; and when
// the switch or verification fails, the rollback path (rollback.ts), which first runs the
// rollback command when the release command ran. The steps on a server live in deploy-steps.ts;
// several servers (deploy-fleet.ts) take the same steps, all or nothing. How images travel is the
// method's Shipping (shipping.ts), chosen once.

import { readFileSync } from 'node:fs'
import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import { releaseOf, runFacts, type Release } from '../plan/history.js'
import {
  checkComposeFile,
  checkLocalFiles,
  composeServices,
  checkReleaseServices,
  checkStackPlan,
  checkSwarmFile
} from './local-files.js'
import { collectReleaseFiles, type ReleaseFileSet } from './release-files.js'
import { buildImages } from './build-images.js'
import { findBuiltVersion } from './find-built.js'
import { shippingFor } from './shipping.js'
import { OneOffFailed, runReleaseCommand } from './release-step.js'
import { failedRecord as failedRecordOf, keepFailed, rollBack } from './rollback.js'
import { appendRecords } from './server-state.js'
import { withLockedServers, type ServerSession } from './session.js'
import { targetsOf } from './targets.js'
import type { SwitchInFlight } from './in-flight.js'
import {
  cutOver,
  getReady,
  keepNewVersion,
  serverRun,
  type Built,
  type DeployRun
} from './deploy-steps.js'
import { deployToServers } from './deploy-fleet.js'
import {
  asCommand,
  finisher,
  noteSwitches,
  noticeTo,
  type CommandPorts,
  type CommandResult
} from './result.js'
import { errorMessage, type Log, type Phases } from './io.js'
import { oneOffFlavor } from './stack-strategy.js'

export function deploy(
  options: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  // A failure thrown out of the phases left no decision to make (build error, no connection).
  return asCommand(options, log, async (result, phases) => {
    const startedAt = ports.now().toISOString()
    const notice = noticeTo(result, log)
    const built = await buildRelease(options, ports, log, result, phases, notice)
    const to = targetsOf(built.o).length > 1 ? deployToServers : deployToServer
    return to(built, { ports, log, result, phases, notice, startedAt })
  })
}

/** Everything on the runner: validate, build (or find the images built), publish. */
async function buildRelease(
  given: DeployOptions,
  ports: CommandPorts,
  log: Log,
  result: CommandResult,
  phases: Phases,
  notice: (m: string) => void
): Promise<Built> {
  const shipping = shippingFor(given.method)
  // Nothing on a server is touched until the images are built (and pushed).
  let files: ReleaseFileSet | undefined
  let options = given
  await phases.run('validate', async () => {
    checkLocalFiles(options)
    if (options.services.length === 0) {
      options = { ...options, services: composeServices(options, ports.environment, notice) }
      checkLocalFiles(options)
    }
    for (const warning of checkComposeFile(options)) notice(warning)
    if (options.orchestrator === 'swarm') for (const w of checkSwarmFile(options)) notice(w)
    checkReleaseServices(options)
    for (const warning of checkStackPlan(options)) notice(warning)
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
    result.build = await phases.run('build', () =>
      buildImages(o, ports.docker, ports.environment, log)
    )
  }
  const images = await shipping.publish?.(o, ports.docker, phases, log)
  const release: Release = {
    version: o.version,
    services: serviceNames(o),
    images,
    ...(files ? { files: files.summary } : {})
  }
  return {
    o,
    release,
    shipping,
    ...(images ? { images } : {}),
    ...(files ? { files } : {}),
    composeContent: readFileSync(o.composeFile, 'utf8')
  }
}

async function deployToServer(b: Built, run: DeployRun): Promise<CommandResult> {
  const { o, release } = b
  const { ports, log, result, phases, notice, startedAt } = run
  return withLockedServers(o, ports, phases, log, notice, async ([one]) => {
    const session = one as ServerSession
    const r = serverRun(session, release, runFacts(o, startedAt), ports.now)
    const { remote, flavor } = session
    const { previous, attempt, history } = r
    const target = r.target
    result.previousVersion = previous
    const finish = finisher(result, history, o.keepHistory, ports)

    try {
      const delivered = await getReady(r, b, ports.docker)
      result.transferredBytes = delivered?.bytes
      result.transferNote = delivered?.note
      const compose = oneOffFlavor(flavor)
      if (o.releaseCommand && compose) {
        attempt.releaseRun = await phases.run('release', () =>
          runReleaseCommand(remote, o, compose, release, previous, b.composeContent, log)
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
    const failure = await cutOver(r, b, notice)
    result.health = r.health
    noteSwitches(result, 'switch', r.services)

    if (!failure) {
      await keepNewVersion(r, b, ports.now().toISOString())
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
      {
        method: session.state.currentMethod || o.method,
        ...releaseOf(history, target, release.services)
      },
      flavor,
      phases,
      log
    )
    result.rollbackHealth = back.health
    noteSwitches(result, 'rollback', back.services)
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
