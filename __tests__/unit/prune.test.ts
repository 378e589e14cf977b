import { orderVersions, planPrune } from '../../src/plan/prune.js'
import { chooseRollbackTarget } from '../../src/plan/rollback-target.js'
import type { DeployRecord } from '../../src/plan/history.js'

const r = (version: string, status: DeployRecord['status']): DeployRecord => ({
  version,
  status,
  method: 'tar',
  commit: 'c',
  previous: '',
  started_at: '',
  finished_at: ''
})

describe('planPrune', () => {
  // Six successful deploys v1..v6; each deploy backed up the one before it.
  const history = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'].map(v => r(v, 'success'))
  const tags = [
    'latest',
    'v1',
    'v2',
    'v3',
    'v4',
    'v5',
    'v6',
    'backup-v1',
    'backup-v2',
    'backup-v3',
    'backup-v4',
    'backup-v5'
  ]

  test('keeps the newest keep-versions versions and the backups of successes in the history', () => {
    const plan = planPrune({
      tagsByRepo: { 'app-api': tags, 'app-web': tags },
      releases: ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'],
      history,
      keepVersions: 3,
      keepHistory: 4,
      protectedVersions: ['v6', 'v5']
    })
    expect(plan.keptVersions).toEqual(['v6', 'v5', 'v4'])
    expect(plan.history.map(h => h.version)).toEqual(['v3', 'v4', 'v5', 'v6'])
    expect(plan.removeTags.sort()).toEqual(
      [
        'app-api:v1',
        'app-api:v2',
        'app-api:v3',
        'app-api:backup-v1',
        'app-api:backup-v2',
        'app-web:v1',
        'app-web:v2',
        'app-web:v3',
        'app-web:backup-v1',
        'app-web:backup-v2'
      ].sort()
    )
    // v3 keeps its backup, so its release (compose file) stays for a rollback.
    expect(plan.removeReleases).toEqual(['v1', 'v2'])
  })

  test('with the defaults (5, 10) six deploys lose only v1 and nothing else', () => {
    const plan = planPrune({
      tagsByRepo: { 'app-api': tags },
      releases: [],
      history,
      keepVersions: 5,
      keepHistory: 10,
      protectedVersions: ['v6', 'v5']
    })
    expect(plan.removeTags).toEqual(['app-api:v1'])
    expect(plan.history).toHaveLength(6)
  })

  test('never removes the running version or the rollback target, however old', () => {
    const plan = planPrune({
      tagsByRepo: { 'app-api': ['v1', 'v2', 'v3', 'backup-v1'] },
      releases: ['v1'],
      history: [r('v1', 'success'), r('v2', 'failed'), r('v3', 'failed')],
      keepVersions: 1,
      keepHistory: 1,
      protectedVersions: ['v3', 'v1']
    })
    expect(plan.removeTags).toEqual(['app-api:v2'])
    expect(plan.removeReleases).toEqual([])
  })

  test('backups of failed versions go', () => {
    const plan = planPrune({
      tagsByRepo: { 'app-api': ['v2', 'backup-v2'] },
      releases: [],
      history: [r('v2', 'failed')],
      keepVersions: 5,
      keepHistory: 10,
      protectedVersions: []
    })
    expect(plan.removeTags).toEqual(['app-api:backup-v2'])
  })
})

describe('orderVersions', () => {
  test('by last deploy, then by the time in the version', () => {
    const history = [r('b', 'success'), r('a', 'success')]
    expect(orderVersions(['x-20250101-000000', 'a', 'b', 'y-20260101-000000'], history)).toEqual([
      'a',
      'b',
      'y-20260101-000000',
      'x-20250101-000000'
    ])
  })
})

describe('chooseRollbackTarget', () => {
  test('the running version when it is good', () => {
    expect(chooseRollbackTarget('v2', [r('v1', 'success'), r('v2', 'success')])).toBe('v2')
    expect(
      chooseRollbackTarget('v1', [r('v1', 'success'), r('v2', 'failed'), r('v1', 'rollback')])
    ).toBe('v1')
  })
  test('not a failed version left in place: the newest good one', () => {
    expect(
      chooseRollbackTarget('v3', [r('v1', 'success'), r('v2', 'success'), r('v3', 'failed')])
    ).toBe('v2')
  })
  test('a version the history does not know is trusted', () => {
    expect(chooseRollbackTarget('old', [])).toBe('old')
  })
  test('nothing on a first deploy', () => {
    expect(chooseRollbackTarget('', [])).toBeUndefined()
    expect(chooseRollbackTarget('v1', [r('v1', 'failed')])).toBeUndefined()
  })
})
