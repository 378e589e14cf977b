// What the summary of a command holds: outcome, timings, health checks, containers and the
// history, as blocks of plain data. The one place that decides what each table contains; the
// action renders the blocks as the job summary's Markdown, the CLI as text. Never carries
// secrets: it is built only from the result, which holds no key material.

import type { CommandResult } from '../engine/commands/result.js'
import type { HealthReport } from '../health/poller.js'
import type { RouteView } from '../plan/caddy-config.js'
import { STATUS_SYMBOL, type DeployRecord } from '../plan/history.js'
import { describeFiles } from '../plan/release-paths.js'
import { describeRun, type ReleaseRun } from '../plan/release-command.js'

/** A table cell: text, or a literal (a version, a path, a check) that is shown as code. */
export type Cell = string | { code: string }

export type Block =
  | { kind: 'title'; text: string }
  | { kind: 'heading'; text: string }
  | { kind: 'table'; head: string[]; rows: Cell[][] }
  | { kind: 'text'; text: string }
  | { kind: 'list'; items: Cell[] }
  /** Text kept as it is (an error message). */
  | { kind: 'verbatim'; text: string }
  | { kind: 'notice'; text: string }
  /** A Mermaid diagram (GitHub renders it in the job summary; the CLI leaves it out). */
  | { kind: 'mermaid'; text: string }

const DEPLOY_TITLE: Record<CommandResult['status'], string> = {
  success: '✔ Deployed',
  failed: '✖ Deploy failed',
  'rolled-back': '↩ Deploy failed, rolled back',
  'rollback-failed': '✖ Deploy failed and the rollback failed'
}

const code = (text: string): Cell => ({ code: text })
const table = (head: string[], rows: Cell[][]): Block => ({ kind: 'table', head, rows })
const heading = (text: string): Block => ({ kind: 'heading', text })
const text = (t: string): Block => ({ kind: 'text', text: t })

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

function healthTable(health: HealthReport): Block {
  const rows: Cell[][] = health.checks.map(c => [
    c.ok ? '✔' : '✖',
    code(c.line),
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

function historyTable(history: DeployRecord[]): Block {
  if (history.length === 0) return text('No deployments recorded.')
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

function outcomeTable(r: CommandResult): Block {
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

function statusBlocks(r: CommandResult): Block[] {
  const blocks: Block[] = []
  const run = r.running
  blocks.push(
    table(
      ['Version', 'Method', 'Commit', 'Deployed', 'By', 'Project directory'],
      [
        [
          code(r.version),
          r.method || '—',
          run?.commit.slice(0, 7) ?? '—',
          run?.finished_at ?? '—',
          run?.actor ?? '—',
          code(r.projectDirectory ?? '')
        ]
      ]
    )
  )
  if (r.services) {
    blocks.push(heading('Services'))
    blocks.push(
      r.services.length === 0
        ? text('No service of the stack exists.')
        : table(
            ['Service', 'Replicas', 'Version', 'Image', 'Tasks'],
            r.services.map(s => [
              s.name,
              s.replicas,
              s.version ?? '—',
              s.image,
              s.tasks.join('; ') || '—'
            ])
          )
    )
  }
  if (r.containers) {
    blocks.push(heading(r.services ? 'Tasks' : 'Containers'))
    blocks.push(
      r.containers.length === 0
        ? text('No container of the project exists.')
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
  return blocks
}

/** A release or rollback command: what ran, how it ended, its last lines. */
function oneOffBlocks(name: string, run: ReleaseRun): Block[] {
  return [
    heading(name),
    table(['Command', 'Result'], [[code(run.command), describeRun(run)]]),
    ...(run.output ? [{ kind: 'verbatim' as const, text: run.output }] : [])
  ]
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Several servers: a row per server (before, after, result, phases), then a gantt of the phases. */
function serverBlocks(r: CommandResult): Block[] {
  const hosts = r.hosts ?? []
  if (hosts.length === 0) return []
  const blocks: Block[] = [heading('Servers')]
  if (r.command === 'status' || r.command === 'history' || r.command === 'unlock') {
    blocks.push(
      table(
        ['Server', 'Version', 'Result', 'Problem'],
        hosts.map(h => [
          h.host,
          code(h.version),
          r.command === 'status' ? (h.healthy ? '✔ healthy' : '✖ not healthy') : h.status,
          h.failure ?? ''
        ])
      )
    )
  } else {
    blocks.push(
      table(
        ['Server', 'Before', 'After', 'Result', 'Phases', 'Problem'],
        hosts.map(h => [
          h.host,
          code(h.previous),
          code(h.version),
          h.status,
          h.phases.map(p => `${p.ok ? '' : '✖ '}${p.name} ${seconds(p.ms)}`).join(', '),
          h.failure ?? ''
        ])
      )
    )
    const chart = ganttOf(hosts)
    if (chart) blocks.push({ kind: 'mermaid', text: chart })
  }
  for (const h of r.command === 'history' ? hosts : []) {
    blocks.push(heading(`History on ${h.host}`))
    blocks.push(historyTable(h.history ?? []))
  }
  return blocks
}

/** Mermaid gantt text of each server's phases (a section per server); '' without timings. */
export function ganttOf(hosts: NonNullable<CommandResult['hosts']>): string {
  const timed = hosts.filter(h => h.phases.some(p => p.start !== undefined))
  if (timed.length === 0) return ''
  // Mermaid's gantt reads ':' as the end of a name, '#' and ';' as the end of a line.
  const clean = (t: string) => t.replace(/[:#;]/g, ' ').trim()
  const lines = ['gantt', '  title Phases per server', '  dateFormat x', '  axisFormat %M:%S']
  for (const h of timed) {
    lines.push(`  section ${clean(h.host.replace(/:(\d+)$/, ' port $1'))}`)
    for (const p of h.phases) {
      if (p.start === undefined) continue
      const end = p.start + Math.max(p.ms, 1)
      lines.push(`  ${clean(p.name)} :${p.ok ? 'done' : 'crit'}, ${p.start}, ${end}`)
    }
  }
  return lines.join('\n')
}

export function summaryBlocks(r: CommandResult): Block[] {
  const blocks: Block[] = [{ kind: 'title', text: title(r) }]
  if (r.command === 'deploy' || r.command === 'rollback') blocks.push(outcomeTable(r))
  if (r.command === 'status') blocks.push(...statusBlocks(r))
  if (r.message) blocks.push(text(r.message))
  if (r.failure) blocks.push({ kind: 'verbatim', text: r.failure })
  blocks.push(...serverBlocks(r))
  for (const n of r.notices) blocks.push({ kind: 'notice', text: n })
  if (r.release) blocks.push(...oneOffBlocks('Release command', r.release))
  if (r.undo) blocks.push(...oneOffBlocks('Rollback command', r.undo))
  if (r.switches) blocks.push(...switchBlocks(r.switches))
  if (r.routes) blocks.push(...routeBlocks(r.routes))
  if (r.phases.length > 0 && r.command !== 'history') {
    blocks.push(heading('Phases'))
    blocks.push(
      table(
        ['Phase', 'Time', 'Result'],
        r.phases.map(p => [p.name, seconds(p.ms), p.ok ? 'ok' : 'failed'])
      )
    )
  }
  if (r.build && r.build.services.length > 0) {
    blocks.push(heading(`Builds: ${r.build.builder}`))
    blocks.push(
      table(
        ['Service', 'Time'],
        r.build.services.map(b => [b.service, seconds(b.ms)])
      )
    )
  }
  const rollbackTitle =
    r.command === 'rollback' ? 'Health checks after restoring' : 'Health checks after rollback'
  for (const [name, health] of [
    ['Health checks', r.health],
    [rollbackTitle, r.rollbackHealth]
  ] as const) {
    if (!health) continue
    blocks.push(heading(name))
    blocks.push(healthTable(health))
  }
  if (r.restorable) {
    blocks.push(heading('Restorable versions'))
    blocks.push(
      r.restorable.length > 0
        ? { kind: 'list', items: r.restorable.map(code) }
        : text('None: no earlier version can be restored.')
    )
  }
  if (r.command !== 'unlock') {
    blocks.push(heading(r.hosts ? `History on ${r.hosts[0]?.host ?? ''}` : 'History'))
    blocks.push(historyTable(r.history))
  }
  return blocks
}

/** How each service was switched: start-first ones with their containers, route and drain. */
export function switchBlocks(switches: NonNullable<CommandResult['switches']>): Block[] {
  return switches.flatMap(({ during, services }) => [
    heading(during === 'switch' ? 'Services switched' : 'Services switched back (rollback)'),
    table(
      ['Service', 'Strategy', 'Old containers', 'New containers', 'Route moved', 'Drain'],
      services.map(s => [
        s.service,
        s.strategy,
        s.strategy === 'stop-first' ? 'recreated' : s.old.join(', ') || '—',
        s.unchanged ? 'already on this version' : s.fresh.join(', ') || '—',
        s.routeMovedAt ? s.routeMovedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—',
        s.drainMs === undefined
          ? '—'
          : `${seconds(s.drainMs)}${s.cut ? ` (${s.cut} request(s) cut at drain-timeout)` : ''}`
      ])
    )
  ])
}

/** status with the ingress: the project's routes and where they send traffic. */
export function routeBlocks(routes: RouteView[]): Block[] {
  return [
    heading('Routes (ingress)'),
    routes.length === 0
      ? text('The ingress has no route of this project.')
      : table(
          ['Service', 'Host names', 'Path', 'Upstreams'],
          routes.map(r => [r.service, r.hosts.join(', '), r.path ?? '/', r.upstreams.join(', ')])
        )
  ]
}
