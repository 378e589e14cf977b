// The job summary: outcome, timings, health checks, containers and the history, for each
// command. Never carries secrets: it is built only from the result, which holds no key material.

import * as core from '@actions/core'
import type { CommandResult } from '../engine/result.js'
import type { HealthReport } from '../health/poller.js'
import { STATUS_SYMBOL, type DeployRecord } from '../plan/history.js'
import { describeFiles } from '../plan/release-paths.js'

const DEPLOY_TITLE: Record<CommandResult['status'], string> = {
  success: '✔ Deployed',
  failed: '✖ Deploy failed',
  'rolled-back': '↩ Deploy failed, rolled back',
  'rollback-failed': '✖ Deploy failed and the rollback failed'
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (text: string) => (text ? `\`${text}\`` : '—')

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map(r => `| ${r.map(cell).join(' | ')} |`)
  ].join('\n')
}

function title(r: CommandResult): string {
  const ok = !r.failure
  switch (r.command) {
    case 'deploy':
      return `${DEPLOY_TITLE[r.status]}: ${r.version}`
    case 'rollback':
      return ok
        ? `↩ Rolled back to ${r.version}`
        : `✖ Rollback${r.version ? ` to ${r.version}` : ''} failed`
    case 'status':
      return `${ok ? '✔' : '✖'} Status: ${r.version || 'nothing deployed'} is ${ok ? 'healthy' : 'not healthy'}`
    case 'history':
      return `Deployment history${r.version ? `: ${r.version} in service` : ''}`
    case 'unlock':
      return ok ? '🔓 Deploy lock' : '✖ Unlock refused'
  }
}

function healthTable(health: HealthReport): string {
  const rows = health.checks.map(c => [
    c.ok ? '✔' : '✖',
    `\`${c.line}\``,
    String(c.attempts),
    c.detail
  ])
  rows.push([
    health.containers.ready ? '✔' : '✖',
    'containers running and healthy',
    '',
    health.containers.problems.join('; ') || 'ok'
  ])
  const settle = health.settle
  if (settle) {
    rows.push([
      settle.ok ? '✔' : '✖',
      `settle window: ${settle.windowMs / 1000} s (healthcheck-monitor)`,
      String(settle.passes),
      settle.ok
        ? 'containers unchanged and every check passing throughout'
        : `after ${(settle.watchedMs / 1000).toFixed(0)} s: ${settle.problem ?? 'failed'}`
    ])
  }
  return table(['', 'Check', 'Attempts', 'Last result'], rows)
}

function historyTable(history: DeployRecord[]): string {
  if (history.length === 0) return 'No deployments recorded.'
  // A Files column only once a release has carried files.
  const withFiles = history.some(r => r.files)
  return table(
    [
      '',
      'Version',
      'Status',
      'Method',
      'Commit',
      'Actor',
      'Finished',
      ...(withFiles ? ['Files'] : [])
    ],
    history.map(r => [
      STATUS_SYMBOL[r.status],
      code(r.version),
      r.status,
      r.method,
      r.commit.slice(0, 7),
      r.actor ?? '',
      r.finished_at,
      ...(withFiles ? [r.files ? describeFiles(r.files) : '—'] : [])
    ])
  )
}

function outcomeTable(r: CommandResult): string {
  const moved =
    r.transferredBytes === undefined
      ? r.method === 'registry' && r.phases.some(p => p.name === 'transfer' && p.ok)
        ? ['pulled from the registry']
        : []
      : [
          r.transferredBytes === 0
            ? 'nothing to send'
            : (r.transferNote ?? `${(r.transferredBytes / 1048576).toFixed(1)} MiB`)
        ]
  const files = r.files ? [describeFiles(r.files)] : []
  return table(
    [
      'Status',
      'Version',
      'Previous version',
      'Method',
      'Rolled back',
      ...(moved.length ? ['Sent'] : []),
      ...(files.length ? ['Files'] : [])
    ],
    [
      [
        r.status,
        code(r.version),
        code(r.previousVersion),
        r.method,
        String(r.rolledBack),
        ...moved,
        ...files
      ]
    ]
  )
}

function statusTables(r: CommandResult): string[] {
  const parts: string[] = []
  const run = r.running
  parts.push(
    table(
      ['Version', 'Method', 'Commit', 'Deployed', 'By', 'Project directory'],
      [
        [
          code(r.version),
          r.method || '—',
          run?.commit.slice(0, 7) ?? '—',
          run?.finished_at ?? '—',
          run?.actor ?? '—',
          r.projectDirectory ? code(r.projectDirectory) : '—'
        ]
      ]
    )
  )
  if (r.containers) {
    parts.push('### Containers')
    parts.push(
      r.containers.length === 0
        ? 'No container of the project exists.'
        : table(
            ['Container', 'State', 'Health', 'Image', 'Restarts'],
            r.containers.map(c => [
              c.name,
              c.status,
              c.health ?? '—',
              c.imageRef ?? '',
              String(c.restartCount)
            ])
          )
    )
  }
  return parts
}

export function renderSummary(r: CommandResult): string {
  const parts: string[] = [`## ${title(r)}`]
  if (r.command === 'deploy' || r.command === 'rollback') parts.push(outcomeTable(r))
  if (r.command === 'status') parts.push(...statusTables(r))
  if (r.message) parts.push(r.message)
  if (r.failure) parts.push('```text\n' + r.failure + '\n```')
  for (const n of r.notices) parts.push(`> ⚠ ${n}`)
  if (r.phases.length > 0 && r.command !== 'history') {
    parts.push('### Phases')
    parts.push(
      table(
        ['Phase', 'Time', 'Result'],
        r.phases.map(p => [p.name, `${(p.ms / 1000).toFixed(1)} s`, p.ok ? 'ok' : 'failed'])
      )
    )
  }
  const rollbackTitle =
    r.command === 'rollback' ? 'Health checks after restoring' : 'Health checks after rollback'
  for (const [heading, health] of [
    ['Health checks', r.health],
    [rollbackTitle, r.rollbackHealth]
  ] as const) {
    if (!health) continue
    parts.push(`### ${heading}`)
    parts.push(healthTable(health))
  }
  if (r.restorable) {
    parts.push('### Restorable versions')
    parts.push(
      r.restorable.length > 0
        ? r.restorable.map(v => `- \`${v}\``).join('\n')
        : 'None: no earlier version can be restored.'
    )
  }
  if (r.command !== 'unlock') {
    parts.push('### History')
    parts.push(historyTable(r.history))
  }
  return parts.join('\n\n') + '\n'
}

/** A summary that cannot be written is a warning, never a failed deploy. */
export async function writeSummary(result: CommandResult): Promise<void> {
  try {
    await core.summary.addRaw(renderSummary(result)).write()
  } catch (e) {
    core.warning(`could not write the job summary: ${(e as Error).message}`)
  }
}
