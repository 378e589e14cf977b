// The rules of command rollback: which version it goes to without a version, which versions
// can still be restored, and why one cannot.

import type { DeployRecord } from '../../src/plan/history.js'
import {
  previousGoodVersion,
  restorableVersions,
  whyNotRestorable,
  type ServerHoldings
} from '../../src/plan/rollback-target.js'
import { newestBuiltVersion, servicesWithout } from '../../src/plan/built-versions.js'
import { declaresArg } from '../../src/docker/dockerfile.js'

const rec = (version: string, status: DeployRecord['status'], extra: Partial<DeployRecord> = {}) =>
  ({
    version,
    status,
    method: 'tar',
    commit: 'c',
    previous: '',
    started_at: 'T',
    finished_at: 'T',
    ...extra
  }) as DeployRecord

describe('previousGoodVersion (rollback without a version)', () => {
  test('three deploys: the second', () => {
    const h = [rec('v1', 'success'), rec('v2', 'success'), rec('v3', 'success')]
    expect(previousGoodVersion(h, 'v3')).toBe('v2')
  })
  test('after a rollback to v2, the next one goes to v1, not back to v3', () => {
    const h = [
      rec('v1', 'success'),
      rec('v2', 'success'),
      rec('v3', 'success'),
      rec('v2', 'rollback')
    ]
    expect(previousGoodVersion(h, 'v2')).toBe('v1')
  })
  test('failed deploys and rollbacks are skipped; nothing before the first success', () => {
    const h = [
      rec('v1', 'success'),
      rec('v2', 'failed'),
      rec('v1', 'rollback'),
      rec('v3', 'success')
    ]
    expect(previousGoodVersion(h, 'v3')).toBe('v1')
    expect(previousGoodVersion(h, 'v1')).toBeUndefined()
    expect(previousGoodVersion([], '')).toBeUndefined()
  })
  test('a version in service that the history does not list as a success: the newest success', () => {
    const h = [rec('v1', 'success'), rec('v2', 'success'), rec('v3', 'failed')]
    expect(previousGoodVersion(h, 'v3')).toBe('v2')
  })
})

describe('restorable versions', () => {
  const held = (tags: Record<string, string[]>, releases: string[]): ServerHoldings => ({
    tagsByRepo: Object.fromEntries(Object.entries(tags).map(([s, t]) => [`app-${s}`, t])),
    releases
  })
  const history = [
    rec('v1', 'success', { services: ['api', 'web'] }),
    rec('v2', 'success', { services: ['api', 'web'] }),
    rec('v3', 'failed', { services: ['api', 'web'] }),
    rec('v4', 'success', { services: ['api'], images: { api: 'r.example/app-api@sha256:4' } }),
    rec('v5', 'success', { services: ['api', 'web'] })
  ]
  const server = held({ api: ['v5', 'backup-v2', 'v1', 'v3'], web: ['v5', 'backup-v2', 'v3'] }, [
    'v1',
    'v2',
    'v3',
    'v4',
    'v5'
  ])

  test('good last record, compose file stored, every image by tag, backup or digest; newest first', () => {
    expect(restorableVersions(history, 'v5', 'app', [], server)).toEqual(['v4', 'v2'])
  })

  test.each<[string, RegExp]>([
    ['v1', /the server has no image of app-web for it \(neither :v1 nor :backup-v1\)/],
    ['v3', /its last record is a failed deploy/],
    ['v9', /the history does not list it/]
  ])('%s cannot be restored: says why', (version, why) => {
    expect(whyNotRestorable(history, version, 'app', [], server)).toMatch(why)
  })

  test('a version whose compose file is gone cannot be restored', () => {
    const noRelease = held({ api: ['v5', 'backup-v2'], web: ['v5', 'backup-v2'] }, ['v5'])
    expect(whyNotRestorable(history, 'v2', 'app', [], noRelease)).toBe(
      'its stored compose file is gone'
    )
  })

  test('records without services use the services given; with none known, it says so', () => {
    const old = [rec('v1', 'success'), rec('v2', 'success')]
    const s = held({ api: ['v1', 'v2'] }, ['v1', 'v2'])
    expect(restorableVersions(old, 'v2', 'app', ['api'], s)).toEqual(['v1'])
    expect(whyNotRestorable(old, 'v1', 'app', [], s)).toMatch(/services are unknown/)
  })
})

describe('skip-build: the version to ship', () => {
  const built = new Map([
    [
      'api',
      new Map([
        ['v1', 100],
        ['v2', 300],
        ['latest', 300],
        ['backup-v0', 400],
        ['v3', 500]
      ])
    ],
    [
      'web',
      new Map([
        ['v1', 100],
        ['v2', 200],
        ['latest', 200]
      ])
    ]
  ])
  test('the newest version every service has; latest and backups are not versions', () => {
    expect(newestBuiltVersion(built)).toBe('v2')
    expect(newestBuiltVersion(new Map())).toBeUndefined()
    expect(newestBuiltVersion(new Map([['api', new Map([['latest', 1]])]]))).toBeUndefined()
  })
  test('which services lack a version', () => {
    expect(servicesWithout(built, 'v3')).toEqual(['web'])
    expect(servicesWithout(built, 'v1')).toEqual([])
  })
})

describe('Dockerfile ARG DEPLOY_VERSION', () => {
  test.each<[string, boolean]>([
    ['FROM x\nARG DEPLOY_VERSION\n', true],
    ['FROM x\n  arg DEPLOY_VERSION=dev\n', true],
    ['FROM x\nARG A=1 DEPLOY_VERSION\n', true],
    ['FROM x\nARG \\\n  DEPLOY_VERSION\n', true],
    ['FROM x\nARG DEPLOY_VERSION_X\n', false],
    ['FROM x\n# ARG DEPLOY_VERSION\n', false],
    ['FROM x\nENV DEPLOY_VERSION=1\n', false]
  ])('%j → %s', (text, declared) => {
    expect(declaresArg(text, 'DEPLOY_VERSION')).toBe(declared)
  })
})
