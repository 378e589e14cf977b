// The job summary: outcome, timings, health checks and the history. Never carries secrets:
// it is built only from the result, which holds no key material.

import * as core from '@actions/core'
import type { DeployResult } from '../engine/deploy.js'
import { STATUS_SYMBOL } from '../plan/history.js'

const TITLE: Record<DeployResult['status'], string> = {
  success: '✔ Deployed',
  failed: '✖ Deploy failed',
  'rolled-back': '↩ Deploy failed, rolled back',
  'rollback-failed': '✖ Deploy failed and the rollback failed'
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map(r => `| ${r.map(cell).join(' | ')} |`)
  ].join('\n')
}

export function renderSummary(result: DeployResult): string {
  const parts: string[] = [`## ${TITLE[result.status]}: ${result.version}`]
  parts.push(
    table(
      ['Status', 'Version', 'Previous version', 'Method', 'Rolled back'],
      [
        [
          result.status,
          `\`${result.version}\``,
          result.previousVersion ? `\`${result.previousVersion}\`` : '—',
          result.method,
          String(result.rolledBack)
        ]
      ]
    )
  )
  if (result.failure) parts.push('```text\n' + result.failure + '\n```')
  for (const n of result.notices) parts.push(`> ⚠ ${n}`)
  if (result.phases.length > 0) {
    parts.push('### Phases')
    parts.push(
      table(
        ['Phase', 'Time', 'Result'],
        result.phases.map(p => [p.name, `${(p.ms / 1000).toFixed(1)} s`, p.ok ? 'ok' : 'failed'])
      )
    )
  }
  for (const [title, health] of [
    ['Health checks', result.health],
    ['Health checks after rollback', result.rollbackHealth]
  ] as const) {
    if (!health) continue
    parts.push(`### ${title}`)
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
    parts.push(table(['', 'Check', 'Attempts', 'Last result'], rows))
  }
  parts.push('### History')
  if (result.history.length === 0) {
    parts.push('No deployments recorded.')
  } else {
    parts.push(
      table(
        ['', 'Version', 'Status', 'Method', 'Commit', 'Finished'],
        result.history.map(r => [
          STATUS_SYMBOL[r.status],
          `\`${r.version}\``,
          r.status,
          r.method,
          r.commit.slice(0, 7),
          r.finished_at
        ])
      )
    )
  }
  return parts.join('\n\n') + '\n'
}

/** A summary that cannot be written is a warning, never a failed deploy. */
export async function writeSummary(result: DeployResult): Promise<void> {
  try {
    await core.summary.addRaw(renderSummary(result)).write()
  } catch (e) {
    core.warning(`could not write the job summary: ${(e as Error).message}`)
  }
}
