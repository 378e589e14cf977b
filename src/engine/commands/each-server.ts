// status, history and unlock on several servers: the command runs on each server at once, in
// its own log, and the answers are put together. status is healthy only when every server is,
// and they all run the same version.

import type { DeployOptions } from '../../config/options.js'
import { newResult, type CommandPorts, type CommandResult } from './result.js'
import { serverViews } from '../server/session.js'
import { targetsOf } from '../fleet/targets.js'
import type { Log } from '../io.js'

type Command = (o: DeployOptions, ports: CommandPorts, log: Log) => Promise<CommandResult>

/** Runs `command` on every server of `o` and puts the answers together (one server: as it is). */
export async function onEveryServer(
  command: Command,
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  const targets = targetsOf(o)
  if (targets.length === 1) return command(o, ports, log)
  const views = serverViews(targets, log)
  const answers = await Promise.all(
    targets.map((t, i) => command(t.o, ports, views[i]?.log ?? log))
  )
  const first = answers[0] as CommandResult
  const result: CommandResult = {
    ...newResult(o),
    version: first.version,
    previousVersion: first.previousVersion,
    method: first.method,
    history: first.history,
    phases: first.phases,
    notices: answers.flatMap((a, i) => a.notices.map(n => `${targets[i]?.name}: ${n}`)),
    ...(first.health ? { health: first.health } : {}),
    ...(first.containers ? { containers: first.containers } : {}),
    ...(first.running ? { running: first.running } : {}),
    ...(first.projectDirectory ? { projectDirectory: first.projectDirectory } : {}),
    hosts: answers.map((a, i) => ({
      host: targets[i]?.name ?? '',
      previous: a.previousVersion,
      version: a.version,
      status: a.status,
      phases: a.phases,
      ...(a.failure ? { failure: a.failure } : {}),
      ...(a.healthy !== undefined ? { healthy: a.healthy } : {}),
      history: a.history
    }))
  }
  const restorable = answers.map(a => a.restorable)
  if (restorable.every(r => r !== undefined)) {
    // What every server can go back to.
    result.restorable = (restorable[0] ?? []).filter(v => restorable.every(r => r?.includes(v)))
  }
  const problems = answers.flatMap((a, i) =>
    a.failure ? [`${targets[i]?.name}: ${a.failure}`] : []
  )
  if (o.command === 'status') {
    const versions = new Set(answers.map(a => a.version))
    if (versions.size > 1) {
      problems.push(
        `the servers run different versions: ${answers.map((a, i) => `${targets[i]?.name} ${a.version || 'none'}`).join(', ')}`
      )
    }
    result.healthy = problems.length === 0
  }
  if (o.command === 'unlock') {
    result.message = answers
      .map((a, i) => `${targets[i]?.name}: ${a.message ?? a.failure ?? ''}`)
      .join('\n')
  }
  if (problems.length > 0) result.failure = problems.join('\n')
  result.status = problems.length === 0 ? 'success' : 'failed'
  return result
}
