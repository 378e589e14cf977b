// Before a deploy or rollback on a terminal: what will happen, and a question. --force and a
// standard input that is not a terminal (automation) skip it.

import type { DeployOptions } from '../config/options.js'

/** The plan in a few lines: command, host, project, version, method, deploy path. */
export function planOf(o: DeployOptions): string {
  const where = o.ssh
    ? `${o.ssh.username}@${o.ssh.host}:${o.ssh.port}${o.ssh.proxy ? ` via ${o.ssh.proxy.host}` : ''}`
    : "this machine's Docker engine (method local)"
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
