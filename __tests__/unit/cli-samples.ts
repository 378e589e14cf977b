// Results of each command, rich enough to fill every table of the summary: shared by the
// summary tests (Markdown for the action, text for the CLI).

import type { DeployOptions } from '../../src/config/options.js'
import { newResult, type CommandResult } from '../../src/engine/commands/result.js'
import type { HealthReport } from '../../src/health/poller.js'
import type { DeployRecord } from '../../src/plan/history.js'

const record = (
  version: string,
  status: DeployRecord['status'],
  extra: Partial<DeployRecord> = {}
): DeployRecord => ({
  version,
  status,
  method: 'tar',
  commit: 'e4534e6aaaabbbbcccc',
  previous: '',
  started_at: '2025-10-11T14:30:00Z',
  finished_at: '2025-10-11T14:30:52Z',
  actor: 'alice',
  ...extra
})

const health = (ok: boolean): HealthReport => ({
  ok,
  checks: [
    {
      line: 'http://127.0.0.1:18081/health',
      ok,
      attempts: 3,
      detail: ok ? 'HTTP 200' : 'HTTP 503 | down'
    },
    { line: 'tcp://127.0.0.1:18083', ok: true, attempts: 1, detail: 'connected' }
  ],
  containers: {
    ready: ok,
    fatal: !ok,
    problems: ok ? [] : ['vd-api-1 is unhealthy'],
    notReady: []
  },
  elapsedMs: 4000,
  states: [],
  settle: ok
    ? { ok: true, windowMs: 2000, watchedMs: 2000, passes: 2 }
    : { ok: false, windowMs: 10000, watchedMs: 6000, passes: 3, problem: 'vd-api-1 restarted' }
})

const base: CommandResult = {
  ...newResult({ command: 'deploy', version: 'v2', method: 'tar' } as DeployOptions),
  status: 'success',
  previousVersion: 'v1',
  phases: [
    { name: 'validate', ms: 120, ok: true },
    { name: 'transfer', ms: 3456, ok: true }
  ]
}

export const SAMPLES: Record<string, CommandResult> = {
  deployed: {
    ...base,
    health: health(true),
    transferredBytes: 12_345_678,
    files: { count: 2, bytes: 14, dir: 'deploy' },
    history: [
      record('v2', 'success', { files: { count: 2, bytes: 14, dir: 'deploy' } }),
      record('v1', 'success')
    ]
  },
  rolledBack: {
    ...base,
    status: 'rolled-back',
    rolledBack: true,
    failure: 'health checks failed: HTTP 503\nRolled back to v1',
    notices: ['the settle window found a restart'],
    health: health(false),
    rollbackHealth: health(true),
    transferredBytes: 0,
    history: [record('v1', 'rollback'), record('v2', 'failed'), record('v1', 'success')]
  },
  rollbackRefused: {
    ...base,
    command: 'rollback',
    status: 'failed',
    version: 'v0',
    method: 'registry',
    failure: 'v0 cannot be restored',
    restorable: ['v1'],
    phases: [
      { name: 'connect', ms: 300, ok: true },
      { name: 'transfer', ms: 10, ok: true }
    ],
    history: [record('v1', 'success')]
  },
  status: {
    ...base,
    command: 'status',
    version: 'v1',
    running: record('v1', 'success'),
    projectDirectory: '/srv/vd/.deploy/releases/v1/deploy',
    containers: [
      {
        id: 'a',
        name: 'vd-api-1',
        status: 'running',
        health: 'healthy',
        restartCount: 0,
        exitCode: 0,
        imageRef: 'vd-api:v1'
      },
      { id: 'b', name: 'vd-db-1', status: 'running', restartCount: 2, exitCode: 0 }
    ],
    healthy: true,
    health: health(true),
    restorable: [],
    history: [record('v1', 'success')]
  },
  history: { ...base, command: 'history', version: '', history: [], restorable: ['v1'] },
  unlock: {
    ...base,
    command: 'unlock',
    message: 'released the deploy lock held by version x9',
    phases: []
  }
}
