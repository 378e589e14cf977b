import {
  newestFirst,
  newRecord,
  parseHistory,
  releaseOf,
  runFacts,
  renderHistory,
  serializeHistory,
  type DeployRecord
} from '../../src/plan/history.js'

function rec(
  version: string,
  status: DeployRecord['status'],
  at = '2025-10-11T14:30:52Z'
): DeployRecord {
  return {
    version,
    status,
    method: 'tar',
    commit: 'e4534e6aaaa',
    previous: '',
    started_at: at,
    finished_at: at
  }
}

describe('history', () => {
  test('round-trips through versions.log, one record a line', () => {
    const records = [rec('a', 'success'), { ...rec('b', 'failed'), actor: 'line\nbreak' }]
    const text = serializeHistory(records)
    expect(text.split('\n')).toHaveLength(3)
    expect(parseHistory(text)).toEqual({ records, damagedLines: [] })
  })

  test('a release with files: its records keep them, releaseOf and the history line show them', () => {
    const facts = runFacts({ method: 'tar', commit: 'e4534e6aaaa' }, '2025-10-11T14:30:00.000Z')
    const files = { count: 2, bytes: 1500, dir: 'deploy' }
    const shipped = newRecord(
      facts,
      'success',
      { version: 'v1', services: ['web'], files },
      '',
      'x'
    )
    expect(shipped.files).toEqual(files)
    const history = [
      shipped,
      rec('v2', 'success'),
      newRecord(facts, 'rollback', releaseOf([shipped], 'v1', []), 'v2', 'y')
    ]
    expect(history[2]?.files).toEqual(files)
    expect(releaseOf(history, 'v1', []).files).toEqual(files)
    expect(releaseOf(history, 'v2', []).files).toBeUndefined()
    expect(renderHistory([history[2] as DeployRecord, history[1] as DeployRecord])).toBe(
      [
        'Recent deployments:',
        '  ↩ v1 - y (via rollback) [2 files, 1.5 kB]',
        '  ✔ v2 - 2025-10-11T14:30:52Z (via tar)'
      ].join('\n')
    )
  })

  test('skips damaged lines and says which', () => {
    const text = [
      JSON.stringify(rec('a', 'success')),
      '{"version": "half',
      JSON.stringify({ version: 'x', status: 'weird' }),
      '',
      JSON.stringify(rec('b', 'rollback'))
    ].join('\n')
    const parsed = parseHistory(text)
    expect(parsed.records.map(r => r.version)).toEqual(['a', 'b'])
    expect(parsed.damagedLines).toEqual([2, 3])
  })

  test('a record carries the run facts, and run_url/actor only when known', () => {
    const o = { method: 'tar', commit: 'e4534e6aaaa', runUrl: '', actor: 'octocat', host: 'x' }
    const facts = runFacts(o, '2025-10-11T14:30:00.000Z')
    const release = { version: 'v1', services: [] }
    expect(newRecord(facts, 'rollback', release, 'v2', '2025-10-11T14:31:00.000Z')).toEqual({
      version: 'v1',
      status: 'rollback',
      method: 'tar',
      commit: 'e4534e6aaaa',
      previous: 'v2',
      started_at: '2025-10-11T14:30:00.000Z',
      finished_at: '2025-10-11T14:31:00.000Z',
      actor: 'octocat'
    })
  })

  test('a record keeps the services and registry digests of its release, and its own commit', () => {
    const facts = runFacts({ method: 'registry', commit: 'f00' }, '2025-10-11T14:30:00.000Z')
    const release = {
      version: 'v1',
      services: ['api', 'web'],
      images: { api: 'r.example/app-api@sha256:1', web: 'r.example/app-web@sha256:2' },
      commit: 'e4534e6',
      method: 'tar'
    }
    expect(newRecord(facts, 'rollback', release, 'v2', 'T')).toMatchObject({
      version: 'v1',
      method: 'tar',
      commit: 'e4534e6',
      services: ['api', 'web'],
      images: release.images
    })
  })

  test('releaseOf reads the newest record of a version, with a fallback for old records', () => {
    const history = [
      { ...rec('v1', 'success'), services: ['api'], images: { api: 'r/app-api@sha256:1' } },
      rec('v2', 'success'),
      { ...rec('v1', 'rollback'), commit: 'c0ffee0', services: ['api', 'db'] }
    ]
    expect(releaseOf(history, 'v1', ['x'])).toEqual({
      version: 'v1',
      services: ['api', 'db'],
      images: { api: 'r/app-api@sha256:1' },
      commit: 'c0ffee0',
      method: 'tar'
    })
    expect(releaseOf(history, 'v2', ['x'])).toMatchObject({ services: ['x'] })
    expect(releaseOf(history, 'v9', ['x'])).toEqual({ version: 'v9', services: ['x'] })
  })

  test('newest first, limited', () => {
    const records = ['a', 'b', 'c', 'd'].map(v => rec(v, 'success'))
    expect(newestFirst(records, 2).map(r => r.version)).toEqual(['d', 'c'])
    expect(newestFirst(records, 10).map(r => r.version)).toEqual(['d', 'c', 'b', 'a'])
  })

  test('renders like the original scripts', () => {
    expect(
      renderHistory([
        rec('e4534e6-20251011-143052', 'success', '2025-10-11T14:30:52Z'),
        rec('abc1234-20251011-120000', 'failed', '2025-10-11T12:00:00Z'),
        rec('d5f9876-20251010-180000', 'rollback', '2025-10-10T18:00:00Z')
      ])
    ).toBe(
      [
        'Recent deployments:',
        '  ✔ e4534e6-20251011-143052 - 2025-10-11T14:30:52Z (via tar)',
        '  ✖ abc1234-20251011-120000 - 2025-10-11T12:00:00Z (via tar)',
        '  ↩ d5f9876-20251010-180000 - 2025-10-10T18:00:00Z (via rollback)'
      ].join('\n')
    )
    expect(renderHistory([])).toBe('No deployments recorded yet.')
  })
})
