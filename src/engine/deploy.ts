// The deploy, as a story: validate → build → connect → inspect → backup → transfer → switch →
// verify → record → prune; and when verification fails, the rollback path.

import { readFileSync } from 'node:fs'
import { createGzip } from 'node:zlib'
import { Transform } from 'node:stream'
import type Docker from 'dockerode'
import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { runChecked } from '../remote/ssh.js'
import * as cmd from '../remote/commands.js'
import { buildImage } from '../docker/build.js'
import { saveImages } from '../docker/save.js'
import { imageRepo, versionTag, backupTag, latestTag } from '../plan/images.js'
import {
  newestFirst,
  newRecord,
  type DeployRecord,
  type RecordStatus,
  type RunFacts
} from '../plan/history.js'
import { planPrune } from '../plan/prune.js'
import { chooseRollbackTarget } from '../plan/rollback-target.js'
import { waitHealthy, type HealthReport } from '../health/poller.js'
import { probe } from '../health/probes.js'
import { checkLocalFiles } from './local-files.js'
import { acquireDeployLock, releaseDeployLock } from './lock.js'
import { appendRecords, readServerState, rewriteHistory, writeCurrent } from './server-state.js'
import * as stack from './stack.js'
import { errorMessage, Phases, type Log, type PhaseTiming } from './io.js'

export type DeployStatus = 'success' | 'failed' | 'rolled-back' | 'rollback-failed'

export interface DeployResult {
  status: DeployStatus
  version: string
  previousVersion: string
  method: string
  rolledBack: boolean
  /** Newest first, at most keep-history records. */
  history: DeployRecord[]
  phases: PhaseTiming[]
  health?: HealthReport
  rollbackHealth?: HealthReport
  transferredBytes?: number
  /** Why the step fails; absent on success. */
  failure?: string
  notices: string[]
}

export interface DeployPorts {
  /** The runner's Docker engine. */
  docker: Docker
  connect(): Promise<Remote>
  now(): Date
  /** Keeps what the post step needs if this run is killed (the lock, a switch in flight). */
  checkpoint(name: CheckpointName, value: string): void
}

export type CheckpointName = 'lock' | 'switching'

/** A switch that a killed run left unverified: the post step finishes it. */
export interface SwitchInFlight {
  version: string
  previous: string
  target: string
  startedAt: string
}

const LOG_LINES = 20
// Fast gzip: the transfer is usually bound by the CPU on a small runner, not by the network.
const GZIP_LEVEL = 1

export async function deploy(
  o: DeployOptions,
  ports: DeployPorts,
  log: Log
): Promise<DeployResult> {
  const result: DeployResult = {
    status: 'failed',
    version: o.version,
    previousVersion: '',
    method: o.method,
    rolledBack: false,
    history: [],
    phases: [],
    notices: []
  }
  try {
    return await runPhases(o, ports, log, result)
  } catch (e) {
    // Failed where no decision was left to make (build error, no connection, lost connection).
    result.failure = errorMessage(e)
    return result
  }
}

async function runPhases(
  o: DeployOptions,
  ports: DeployPorts,
  log: Log,
  result: DeployResult
): Promise<DeployResult> {
  const phases = new Phases(log, result.phases)
  const startedAt = ports.now().toISOString()
  const notice = (m: string) => {
    result.notices.push(m)
    log.warn(m)
  }

  // Nothing on the server is touched until the images are built.
  await phases.run('validate', async () => checkLocalFiles(o))
  await phases.run('build', () => buildAll(o, ports.docker, log))

  const remote = await phases.run('connect', () => ports.connect())
  let lockToken = ''
  try {
    lockToken = await phases.run('lock', () => acquireDeployLock(remote, o, log))
    ports.checkpoint('lock', lockToken)
    const { state, flavor } = await phases.run('inspect server', async () => {
      await stack.checkEngine(remote)
      const flavor = await stack.detectCompose(remote)
      const state = await readServerState(remote, o.deployPath)
      if (state.damagedLines.length > 0) {
        notice(`versions.log: skipped damaged line(s) ${state.damagedLines.join(', ')}`)
      }
      log.info(
        `running version: ${state.currentVersion || '(none: first deploy)'}; compose ${flavor}`
      )
      return { state, flavor }
    })
    result.previousVersion = state.currentVersion
    const previous = state.currentVersion
    const target = chooseRollbackTarget(previous, state.history)
    const history = [...state.history]
    const facts = runFacts(o, startedAt)
    const record = (status: RecordStatus, version: string, prev: string) =>
      newRecord(facts, status, version, prev, ports.now().toISOString())
    const recordAll = async (...records: DeployRecord[]) => {
      await appendRecords(remote, o.deployPath, records)
      history.push(...records)
    }
    const finish = () => {
      ports.checkpoint('switching', '')
      result.history = newestFirst(history, o.keepHistory)
      return result
    }

    try {
      if (previous) await phases.run('backup', () => backupRunning(remote, o, previous, log))
      result.transferredBytes = await phases.run('transfer', () =>
        transfer(remote, o, ports.docker, log)
      )
    } catch (e) {
      // The running stack was not touched: record the attempt (if the server still answers) and stop.
      result.failure = `${errorMessage(e)}\nThe running version (${previous || 'none'}) was not touched.`
      await recordAll(record('failed', o.version, previous)).catch(r =>
        notice(`could not record the failed attempt: ${errorMessage(r)}`)
      )
      return finish()
    }

    const inFlight: SwitchInFlight = {
      version: o.version,
      previous,
      target: target ?? '',
      startedAt
    }
    ports.checkpoint('switching', JSON.stringify(inFlight))
    let failure: string | undefined
    try {
      await phases.run('switch', () =>
        switchTo(remote, o, flavor, o.version, readFileSync(o.composeFile, 'utf8'))
      )
    } catch (e) {
      failure = `switching to ${o.version} failed: ${errorMessage(e)}`
    }
    if (!failure && o.skipHealthcheck) {
      notice('health checks skipped (skip-healthcheck: true): the new version was not verified')
    } else if (!failure) {
      const health = await phases.run('verify', () => verify(remote, o, log))
      result.health = health
      if (!health.ok) failure = await describeUnhealthy(remote, o, o.version, health)
    }

    if (!failure) {
      await phases.run('record', async () => {
        await writeCurrent(remote, o.deployPath, o.version, o.method)
        await recordAll(record('success', o.version, previous))
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
      await writeCurrent(remote, o.deployPath, o.version, o.method)
      await recordAll(record('failed', o.version, previous))
      const why = o.noRollback
        ? `no-rollback is set: the failed version ${o.version} was left in place for inspection`
        : 'there is no previous version to roll back to (first deploy): the failed version was left in place'
      result.failure = `${failure}\n${why}.`
      return finish()
    }

    // The rollback path: bring back the last good version, its images and its compose file.
    log.warn(`${failure}\nRolling back to ${target}.`)
    result.rolledBack = true
    let rollbackFailure: string | undefined
    try {
      await phases.run('rollback', () => restore(remote, o, flavor, target, log))
      if (!o.skipHealthcheck) {
        result.rollbackHealth = await phases.run('verify rollback', () => verify(remote, o, log))
        if (!result.rollbackHealth.ok) {
          rollbackFailure = await describeUnhealthy(remote, o, target, result.rollbackHealth)
        }
      }
    } catch (e) {
      rollbackFailure = errorMessage(e)
    }
    const methodOfTarget = [...history].reverse().find(r => r.version === target)?.method
    await writeCurrent(
      remote,
      o.deployPath,
      target,
      methodOfTarget || state.currentMethod || o.method
    )
    await recordAll(record('failed', o.version, previous), record('rollback', target, o.version))
    if (rollbackFailure) {
      result.status = 'rollback-failed'
      result.failure = `${failure}\nThe rollback to ${target} failed too: ${rollbackFailure}`
    } else {
      result.status = 'rolled-back'
      result.failure = `${failure}\nRolled back to ${target}, which is healthy again.`
    }
    return finish()
  } finally {
    if (lockToken) {
      await releaseDeployLock(remote, o.deployPath, lockToken)
        .then(released => {
          if (released) ports.checkpoint('lock', '')
        })
        .catch(e =>
          log.warn(
            `could not release the deploy lock now (the post step retries): ${errorMessage(e)}`
          )
        )
    }
    remote.close()
  }
}

/** What every history record of this run carries. */
export function runFacts(o: DeployOptions, startedAt: string): RunFacts {
  return { method: o.method, commit: o.commit, startedAt, runUrl: o.runUrl, actor: o.actor }
}

async function buildAll(o: DeployOptions, docker: Docker, log: Log): Promise<void> {
  for (const s of o.services) {
    const tag = versionTag(o.project, s.name, o.version)
    log.info(`building ${tag} from ${s.context} (${s.dockerfile})`)
    await buildImage(
      docker,
      {
        context: s.context,
        dockerfile: s.dockerfile,
        tag,
        // DEPLOY_VERSION lets an image know its own version (e.g. to serve it).
        buildArgs: { ...o.buildArgs, DEPLOY_VERSION: o.version }
      },
      line => log.info(line)
    )
  }
}

/** Tags the running version's images `backup-<version>`, so they survive pruning. */
async function backupRunning(remote: Remote, o: DeployOptions, running: string, log: Log) {
  for (const s of o.services) {
    const source = versionTag(o.project, s.name, running)
    const fallback = latestTag(o.project, s.name)
    const from = (await stack.imageExists(remote, source))
      ? source
      : (await stack.imageExists(remote, fallback))
        ? fallback
        : undefined
    if (!from) {
      log.warn(`no image of ${s.name} for the running version ${running}: nothing to back up`)
      continue
    }
    await stack.tagImage(remote, from, backupTag(o.project, s.name, running))
    log.info(`${from} → ${backupTag(o.project, s.name, running)}`)
  }
}

/** `docker save | gzip` on the runner, streamed over SSH into `docker load` on the server. */
async function transfer(remote: Remote, o: DeployOptions, docker: Docker, log: Log) {
  const refs = o.services.map(s => versionTag(o.project, s.name, o.version))
  const tar = await saveImages(docker, refs)
  const gzip = createGzip({ level: GZIP_LEVEL })
  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      done(null, chunk)
    }
  })
  tar.on('error', e => gzip.destroy(e))
  gzip.on('error', e => counter.destroy(e))
  tar.pipe(gzip).pipe(counter)
  const r = await remote.pipeInto(cmd.dockerLoad(), counter)
  if (r.code !== 0) {
    throw new Error(
      `docker load on the server failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`
    )
  }
  log.info(r.stdout.trim())
  for (const ref of refs) {
    if (!(await stack.imageExists(remote, ref))) {
      throw new Error(`after docker load, ${ref} is missing on the server`)
    }
  }
  log.info(`sent ${refs.length} image(s), ${(bytes / 1048576).toFixed(1)} MiB compressed`)
  return bytes
}

/** Runs `version` with its own compose file, then points `latest` at it. */
async function switchTo(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  version: string,
  composeContent: string | undefined
) {
  const file = cmd.releaseComposeFile(o.deployPath, version)
  if (composeContent !== undefined) await stack.uploadFile(remote, file, composeContent)
  await stack.composeUp(remote, {
    flavor,
    project: o.project,
    file,
    projectDirectory: o.deployPath,
    version
  })
  for (const s of o.services) {
    await stack.tagImage(
      remote,
      versionTag(o.project, s.name, version),
      latestTag(o.project, s.name)
    )
  }
}

export async function restore(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  target: string,
  log: Log
) {
  for (const s of o.services) {
    const tag = versionTag(o.project, s.name, target)
    if (await stack.imageExists(remote, tag)) continue
    const backup = backupTag(o.project, s.name, target)
    if (!(await stack.imageExists(remote, backup))) {
      throw new Error(`neither ${tag} nor ${backup} exists on the server: cannot restore ${s.name}`)
    }
    await stack.tagImage(remote, backup, tag)
    log.info(`restored ${tag} from ${backup}`)
  }
  const file = cmd.releaseComposeFile(o.deployPath, target)
  const haveRelease = (await remote.run(['test', '-f', file])).code === 0
  if (!haveRelease) {
    log.warn(`no stored compose file for ${target}: using this run's ${o.composeFile}`)
  }
  await switchTo(
    remote,
    o,
    flavor,
    target,
    haveRelease ? undefined : readFileSync(o.composeFile, 'utf8')
  )
}

export function verify(remote: Remote, o: DeployOptions, log: Log): Promise<HealthReport> {
  const attemptTimeout = Math.max(2000, Math.min(10000, o.healthIntervalMs * 2))
  return waitHealthy(
    {
      containers: () => stack.containerStates(remote, o.project),
      probe: check => probe(remote, check, attemptTimeout),
      sleep: ms => new Promise(r => setTimeout(r, ms)),
      now: () => Date.now()
    },
    o.healthchecks,
    { timeoutMs: o.healthTimeoutMs, intervalMs: o.healthIntervalMs }
  ).then(report => {
    for (const c of report.checks) log.info(`${c.ok ? '✔' : '✖'} ${c.line}: ${c.detail}`)
    log.info(report.ok ? 'all containers running and healthy' : (report.reason ?? 'unhealthy'))
    return report
  })
}

/** The failed check, and the last lines of the logs of the containers that are not well. */
export async function describeUnhealthy(
  remote: Remote,
  o: DeployOptions,
  version: string,
  health: HealthReport
): Promise<string> {
  let suspects = health.containers.notReady
  if (suspects.length === 0)
    suspects = await stack.containerStates(remote, o.project).catch(() => [])
  const parts = [`version ${version} is not healthy: ${health.reason ?? 'unknown reason'}`]
  for (const c of suspects) {
    const logs = await stack.logsTail(remote, c.id, LOG_LINES).catch(e => errorMessage(e))
    parts.push(`--- last ${LOG_LINES} log lines of ${c.name} ---\n${logs || '(no output)'}`)
  }
  return parts.join('\n')
}

/** Removes what the contract does not keep; returns the history that stays (oldest first). */
async function prune(
  remote: Remote,
  o: DeployOptions,
  history: DeployRecord[],
  protectedVersions: string[],
  log: Log
): Promise<DeployRecord[]> {
  const tagsByRepo: Record<string, string[]> = {}
  for (const s of o.services) {
    const repo = imageRepo(o.project, s.name)
    tagsByRepo[repo] = await stack.listTags(remote, repo)
  }
  const releases = (await runChecked(remote, cmd.listReleases(o.deployPath)))
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
  const plan = planPrune({
    tagsByRepo,
    releases,
    history,
    keepVersions: o.keepVersions,
    keepHistory: o.keepHistory,
    protectedVersions
  })
  if (plan.removeTags.length > 0) {
    const r = await remote.run(cmd.removeImages(plan.removeTags))
    if (r.code !== 0) log.warn(`pruning images: ${r.stderr.trim()}`)
    else log.info(`removed ${plan.removeTags.join(', ')}`)
  }
  if (plan.removeReleases.length > 0) {
    await runChecked(remote, cmd.removeReleases(o.deployPath, plan.removeReleases))
  }
  if (plan.history.length < history.length) {
    await rewriteHistory(remote, o.deployPath, plan.history)
  }
  log.info(`kept versions: ${plan.keptVersions.join(', ')}`)
  return plan.history
}
