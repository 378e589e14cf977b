// The summary's blocks are rendered twice: as the job summary's Markdown (the action) and as
// text tables (the CLI). One place decides what the tables hold; these tests pin both forms.

import { renderSummary } from '../../src/action/summary.js'
import { displayWidth, renderText } from '../../src/cli/text-summary.js'
import { SAMPLES } from './cli-samples.js'

const sample = (name: string) => {
  const r = SAMPLES[name]
  if (!r) throw new Error(name)
  return r
}

describe('Markdown (the job summary), as it was before the blocks were split out', () => {
  test('deploy', () => {
    expect(renderSummary(sample('deployed'))).toBe(
      [
        '## ✔ Deployed: v2',
        '',
        '| Status | Version | Previous version | Method | Rolled back | Sent | Files |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| success | `v2` | `v1` | tar | false | 11.8 MiB | 2 files, 14 B |',
        '',
        '### Phases',
        '',
        '| Phase | Time | Result |',
        '| --- | --- | --- |',
        '| validate | 0.1 s | ok |',
        '| transfer | 3.5 s | ok |',
        '',
        '### Health checks',
        '',
        '|  | Check | Attempts | Last result |',
        '| --- | --- | --- | --- |',
        '| ✔ | `http://127.0.0.1:18081/health` | 3 | HTTP 200 |',
        '| ✔ | `tcp://127.0.0.1:18083` | 1 | connected |',
        '| ✔ | containers running and healthy |  | ok |',
        '| ✔ | settle window: 2 s (healthcheck-monitor) | 2 | containers unchanged and every check passing throughout |',
        '',
        '### History',
        '',
        '|  | Version | Status | Method | Commit | Actor | Finished | Files |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        '| ✔ | `v2` | success | tar | e4534e6 | alice | 2025-10-11T14:30:52Z | 2 files, 14 B |',
        '| ✔ | `v1` | success | tar | e4534e6 | alice | 2025-10-11T14:30:52Z | — |',
        ''
      ].join('\n')
    )
  })

  test('status, and a failed deploy that was rolled back', () => {
    const status = renderSummary(sample('status'))
    expect(status).toMatch(
      /^## ✔ Status: v1 is healthy\n\n\| Version \| Method \| Commit \| Deployed \| By \| Project directory \|\n/
    )
    expect(status).toContain(
      '| `v1` | tar | e4534e6 | 2025-10-11T14:30:52Z | alice | `/srv/vd/.deploy/releases/v1/deploy` |'
    )
    expect(status).toContain(
      '### Containers\n\n| Container | State | Health | Image | Restarts |\n| --- | --- | --- | --- | --- |\n| vd-api-1 | running | healthy | vd-api:v1 | 0 |\n| vd-db-1 | running | — |  | 2 |'
    )
    expect(status).toContain('### Restorable versions\n\nNone: no earlier version can be restored.')
    const failed = renderSummary(sample('rolledBack'))
    expect(failed).toContain(
      '```text\nhealth checks failed: HTTP 503\nRolled back to v1\n```\n\n> ⚠ the settle window found a restart\n\n### Phases'
    )
    expect(failed).toContain('| ✖ | `http://127.0.0.1:18081/health` | 3 | HTTP 503 \\| down |')
    expect(failed).toContain(
      '| ✖ | settle window: 10 s (healthcheck-monitor) | 3 | after 6 s: vd-api-1 restarted |'
    )
    expect(failed).toContain('### Health checks after rollback')
    expect(failed).toMatch(/\| ↩ \| `v1` \| rollback \| tar \|/)
    expect(renderSummary(sample('rollbackRefused'))).toContain(
      '### Restorable versions\n\n- `v1`\n\n### History'
    )
  })
})

describe('text (the CLI)', () => {
  test('the same tables, aligned in columns, literals without backticks', () => {
    const text = renderText(sample('deployed'))
    expect(text).toContain(
      [
        'Status   Version  Previous version  Method  Rolled back  Sent      Files',
        '───────  ───────  ────────────────  ──────  ───────────  ────────  ─────────────',
        'success  v2       v1                tar     false        11.8 MiB  2 files, 14 B'
      ].join('\n')
    )
    expect(text).toMatch(/^✔ Deployed: v2\n═{14}\n/)
    expect(text).toContain('Phases\nPhase     Time   Result\n')
    expect(text).toContain('✔  http://127.0.0.1:18081/health             3         HTTP 200\n')
    expect(text).toContain('✔  v1       success  tar     e4534e6  alice  2025-10-11T14:30:52Z  —\n')
    expect(text).not.toContain('`')
    expect(text).not.toContain('|')
  })

  test('every table and heading of the Markdown is in the text', () => {
    for (const r of Object.values(SAMPLES)) {
      const md = renderSummary(r)
      const text = renderText(r)
      for (const h of md.match(/^#+ .*$/gm) ?? []) expect(text).toContain(h.replace(/^#+ /, ''))
      const heads = md.match(/^\| .* \|\n\| ---/gm) ?? []
      const textHeads = text.split('\n').filter(l => /^─/.test(l))
      expect(textHeads.length).toBe(heads.length)
    }
  })

  test('a failure verbatim, notices, lists, empty literals', () => {
    const text = renderText(sample('rolledBack'))
    expect(text).toContain('\n\nhealth checks failed: HTTP 503\nRolled back to v1\n\n')
    expect(text).toContain('⚠ the settle window found a restart')
    expect(text).toContain(
      '✖  http://127.0.0.1:18081/health              3         HTTP 503 | down'
    )
    expect(renderText(sample('rollbackRefused'))).toContain('Restorable versions\n- v1\n')
    expect(renderText(sample('history'))).toContain('History\nNo deployments recorded.\n')
    expect(renderText(sample('status'))).toContain('vd-db-1    running  —                   2\n')
  })

  test('columns are counted as a terminal shows them', () => {
    expect(['✔', '—', '🔓', 'á', '⚠'].map(displayWidth)).toEqual([1, 1, 2, 1, 1])
    expect(renderText(sample('unlock'))).toMatch(/^🔓 Deploy lock\n═{14}\n/)
  })
})

test("the build's row per service, with the builder that built them", () => {
  const r = {
    ...sample('deployed'),
    build: {
      builder: 'BuildKit (builder default, driver docker), side by side',
      services: [
        { service: 'api', ms: 3100 },
        { service: 'web', ms: 2950 }
      ]
    }
  }
  expect(renderSummary(r)).toContain(
    [
      '### Builds: BuildKit (builder default, driver docker), side by side',
      '',
      '| Service | Time |',
      '| --- | --- |',
      '| api | 3.1 s |',
      '| web | 3.0 s |'
    ].join('\n')
  )
  expect(renderText(r)).toMatch(
    /Builds: BuildKit \(builder default, driver docker\), side by side\nService +Time\n/
  )
})
