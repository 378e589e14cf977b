// Before a deploy or rollback on a terminal: what will happen, and a question. --force and a
// standard input that is not a terminal (automation) skip it.

import type { DeployOptions } from '../config/options.js'
import { targetsOf } from '../engine/fleet/targets.js'

/** The plan in a few lines: command, host, project, version, method, deploy path. */
export function planOf(o: DeployOptions): string {
  const ssh = o.ssh
  const servers = targetsOf(o).map(t => t.name)
  const where = !ssh
    ? "this machine's Docker engine (method local)"
    : servers.length > 1
      ? `${servers.length} servers, all or none, ${servers[0]} first: ${servers.map(s => `${ssh.username}@${s}`).join(', ')}${ssh.proxy ? ` via ${ssh.proxy.host}` : ''}`
      : `${ssh.username}@${ssh.host}:${ssh.port}${ssh.proxy ? ` via ${ssh.proxy.host}` : ''}`
  const version =
    o.version ||
    (o.command === 'rollback'
      ? 'the previous good version (decided on the server)'
      : 'the newest version built on this machine')
  const rows: [string, string][] = [
    ['host', where],
    ['project', o.project],
    ['version', version],
    ['method', o.method],
    ...(o.orchestrator === 'swarm'
      ? [['orchestrator', 'swarm (host is a manager)'] as [string, string]]
      : []),
    ['deploy path', o.deployPath]
  ]
  const title = o.command === 'rollback' ? 'About to roll back:' : 'About to deploy:'
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(12)}${v}`)].join('\n')
}

export const isYes = (answer: string) => /^y(es)?$/i.test(answer.trim())

export function needsConfirmation(o: DeployOptions, force: boolean, interactive: boolean) {
  return (o.command === 'deploy' || o.command === 'rollback') && !force && interactive
}
