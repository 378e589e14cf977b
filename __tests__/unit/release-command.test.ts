import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseOptions } from '../../src/config/parse.js'
import type { RawInputs, RunContext } from '../../src/config/inputs.js'
import { raw } from './raw-inputs.js'
import { fakeRemote } from './fake-remote.js'
import type { DeployOptions } from '../../src/config/options.js'
import { parseOneOff, lastLines, describeRun } from '../../src/plan/release-command.js'
import {
  deployedBefore,
  releaseRanFor,
  renderHistoryLine,
  type DeployRecord
} from '../../src/plan/history.js'
import { checkReleaseServices } from '../../src/engine/runner/local-files.js'
import { rollBack, type Attempt } from '../../src/engine/steps/rollback.js'
import { Phases, type Log } from '../../src/engine/io.js'
import type { ExecResult, Remote } from '../../src/remote/remote.js'
import type { Argv } from '../../src/remote/commands.js'
import * as cmd from '../../src/remote/commands.js'
import { shJoin } from '../../src/remote/quote.js'
import { summaryBlocks } from '../../src/report/summary.js'
import { newResult } from '../../src/engine/commands/result.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}

describe('release-command and rollback-command: SERVICE [ARGS...], split as a shell splits words', () => {
  test.each<[string, string, { service: string; args: string[] }]>([
    ['the service alone: its own command', 'migrate', { service: 'migrate', args: [] }],
    [
      'arguments replace its command',
      'api ./manage.py migrate --noinput',
      { service: 'api', args: ['./manage.py', 'migrate', '--noinput'] }
    ],
    [
      'double and single quotes keep spaces',
      `db-tools sh -c 'echo "$DEPLOY_VERSION" >> /data/log'`,
      { service: 'db-tools', args: ['sh', '-c', 'echo "$DEPLOY_VERSION" >> /data/log'] }
    ],
    [
      'a backslash escapes a space; surrounding blanks are dropped',
      '  migrate  up a\\ b  ',
      { service: 'migrate', args: ['up', 'a b'] }
    ],
    [
      'no shell: a $VARIABLE stays as written',
      'migrate up $TARGET',
      { service: 'migrate', args: ['up', '$TARGET'] }
    ]
  ])('%s', (_name, text, expected) => {
    expect(parseOneOff('release-command', text)).toEqual({ ...expected, text: text.trim() })
  })

  test('empty is no command', () => {
    expect(parseOneOff('release-command', '   ')).toBeUndefined()
  })

  test.each<[string, string, string]>([
    [
      'an unbalanced double quote',
      'migrate "up',
      'Input "release-command": "migrate "up" has a quote that is never closed'
    ],
    [
      'an unbalanced single quote',
      "migrate sh -c 'x",
      `Input "release-command": "migrate sh -c 'x" has a quote that is never closed`
    ],
    [
      'a quoted empty service',
      '"" up',
      'Input "release-command": """ up" names no service: write SERVICE [ARGS...]'
    ],
    [
      'a first word that is not a service name',
      '/bin/migrate up',
      'Input "release-command": "/bin/migrate" is not a compose service name: the first word is the service to run (SERVICE [ARGS...])'
    ],
    [
      'a pipe, which no shell would read',
      'migrate up | tee x',
      `Input "release-command": "|": no shell is started, so pipes, redirections, ';' and '&&' do not work: write SERVICE sh -c '…' to have the container's shell run them`
    ],
    [
      '&&',
      'migrate up && echo done',
      `Input "release-command": "&&": no shell is started, so pipes, redirections, ';' and '&&' do not work: write SERVICE sh -c '…' to have the container's shell run them`
    ],
    ['two lines', 'migrate\nseed', 'Input "release-command": is one line: SERVICE [ARGS...]']
  ])('refused: %s', (_name, text, message) => {
    expect(() => parseOneOff('release-command', text)).toThrow(message)
  })

  test('a quoted operator is an argument like any other', () => {
    expect(parseOneOff('rollback-command', `tools sh -c 'a && b'`)?.args).toEqual([
      'sh',
      '-c',
      'a && b'
    ])
  })
})

describe('the inputs', () => {
  test('parsed for a deploy, with release-timeout (default 600 s)', () => {
    const o = parseOptions(
      raw({ 'release-command': 'migrate up', 'rollback-command': 'migrate down' }),
      ctx
    )
    expect(o.releaseCommand).toEqual({ service: 'migrate', args: ['up'], text: 'migrate up' })
    expect(o.rollbackCommand).toEqual({ service: 'migrate', args: ['down'], text: 'migrate down' })
    expect(o.releaseTimeoutMs).toBe(600_000)
    expect(parseOptions(raw({ 'release-timeout': '30' }), ctx).releaseTimeoutMs).toBe(30_000)
  })

  test('a rollback takes rollback-command and leaves release-command aside', () => {
    const o = parseOptions(
      raw({ command: 'rollback', 'release-command': 'migrate up', 'rollback-command': 'm down' }),
      ctx
    )
    expect(o.releaseCommand).toBeUndefined()
    expect(o.rollbackCommand?.service).toBe('m')
  })

  test.each<[Partial<RawInputs>, string]>([
    [
      { 'release-command': 'migrate' },
      'Input "release-command": is not supported with orchestrator swarm'
    ],
    [
      { 'rollback-command': 'migrate down' },
      'Input "rollback-command": is not supported with orchestrator swarm'
    ]
  ])('refused with orchestrator swarm: %p', (given, message) => {
    const swarm = { orchestrator: 'swarm', method: 'registry', registry: 'ghcr.io/acme' }
    expect(() => parseOptions(raw({ ...swarm, ...given }), ctx)).toThrow(message)
  })

  test('release-timeout must be seconds', () => {
    expect(() => parseOptions(raw({ 'release-timeout': 'soon' }), ctx)).toThrow(
      'Input "release-timeout": "soon" is not a number of seconds above 0 and at most 86400'
    )
  })

  test("the services must be the compose file's", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vd-release-'))
    writeFileSync(
      path.join(dir, 'docker-compose.yml'),
      'services:\n  api:\n    image: x-api:${DEPLOY_VERSION}\n  migrate:\n    image: x-api:${DEPLOY_VERSION}\n    profiles: [release]\n'
    )
    const o = (given: Partial<RawInputs>) => parseOptions(raw(given), { ...ctx, workspace: dir })
    expect(() => checkReleaseServices(o({ 'release-command': 'migrate up' }))).not.toThrow()
    expect(() => checkReleaseServices(o({ 'release-command': 'migrat up' }))).toThrow(
      'Input "release-command": "migrat" is not a service of docker-compose.yml (it has api, migrate): the first word names the compose service to run'
    )
    expect(() => checkReleaseServices(o({ 'rollback-command': 'down' }))).toThrow(
      'Input "rollback-command": "down" is not a service of docker-compose.yml'
    )
  })
})

describe('the one-off container, as the server receives it', () => {
  const target: cmd.ComposeTarget = {
    flavor: 'v2',
    project: 'shop',
    file: '/opt/shop/.deploy/releases/v2/docker-compose.yml',
    projectDirectory: '/opt/shop',
    version: 'v2'
  }
  test.each<[string, Argv, string]>([
    [
      'the release command, beside the running stack (--no-deps)',
      cmd.composeRunOnce(target, {
        name: 'shop-release-v2',
        service: 'migrate',
        args: ['sh', '-c', 'echo "$DEPLOY_VERSION" >> /data/log'],
        env: { DEPLOY_VERSION: 'v2', DEPLOY_PREVIOUS_VERSION: 'v1' },
        withDeps: false,
        timeoutSeconds: 600
      }),
      `timeout --kill-after=10 600 env DEPLOY_VERSION=v2 docker compose --project-name shop --file /opt/shop/.deploy/releases/v2/docker-compose.yml --project-directory /opt/shop run --rm -T --name shop-release-v2 --no-deps -e DEPLOY_VERSION=v2 -e DEPLOY_PREVIOUS_VERSION=v1 migrate sh -c 'echo "$DEPLOY_VERSION" >> /data/log'`
    ],
    [
      'a first deploy starts what it depends on; its own command (v1)',
      cmd.composeRunOnce(
        { ...target, flavor: 'v1' },
        {
          name: 'shop-release-v2',
          service: 'migrate',
          args: [],
          env: { DEPLOY_PREVIOUS_VERSION: '' },
          withDeps: true,
          timeoutSeconds: 5
        }
      ),
      `timeout --kill-after=10 5 env DEPLOY_VERSION=v2 docker-compose --project-name shop --file /opt/shop/.deploy/releases/v2/docker-compose.yml --project-directory /opt/shop run --rm -T --name shop-release-v2 -e DEPLOY_PREVIOUS_VERSION= migrate`
    ],
    ['removing it', cmd.removeContainer('shop-release-v2'), 'docker rm --force shop-release-v2']
  ])('%s', (_name, argv, expected) => {
    expect(shJoin(argv)).toBe(expected)
  })
})

describe('what the history keeps', () => {
  const record = (version: string, extra: Partial<DeployRecord> = {}): DeployRecord => ({
    version,
    status: 'success',
    method: 'tar',
    commit: 'abc',
    previous: '',
    started_at: 't0',
    finished_at: 't1',
    ...extra
  })
  const ran = { command: 'migrate up', exit: 0, seconds: 2.5 }

  test('whether a version ran its release command, and which came first', () => {
    const history = [
      record('v1'),
      record('v2', { release: ran }),
      record('v3', { status: 'failed', release: { ...ran, exit: 1 } }),
      record('v1', { status: 'rollback' })
    ]
    expect(releaseRanFor(history, 'v2')).toEqual(ran)
    expect(releaseRanFor(history, 'v1')).toBeUndefined()
    expect(releaseRanFor(history, 'v3')).toBeUndefined()
    expect(deployedBefore(history, 'v1', 'v2')).toBe(true)
    expect(deployedBefore(history, 'v3', 'v2')).toBe(false)
  })

  test('the history line names what ran', () => {
    expect(renderHistoryLine(record('v2', { release: ran }))).toBe(
      '✔ v2 - t1 (via tar) [release migrate up: exit 0]'
    )
    expect(
      renderHistoryLine(
        record('v1', {
          status: 'rollback',
          undo: { command: 'migrate down', exit: 124, seconds: 600, timed_out: true }
        })
      )
    ).toBe('↩ v1 - t1 (via rollback) [undone by migrate down: timed out]')
  })

  test('last lines and how a run ended', () => {
    expect(lastLines('a\n\nb\nc\n', 2)).toBe('b\nc')
    expect(describeRun({ command: 'm', exit: 3, seconds: 1.2 })).toBe('exit 3 after 1.2 s')
    expect(describeRun({ command: 'm', exit: 124, seconds: 5, timed_out: true })).toBe(
      'still running after 5 s: stopped at release-timeout'
    )
  })

  test('the summary shows the command, how it ended and its last lines', () => {
    const r = { ...newResult(parseOptions(raw(), ctx)), release: { ...ran, output: 'ok' } }
    expect(summaryBlocks(r)).toEqual(
      expect.arrayContaining([
        { kind: 'heading', text: 'Release command' },
        {
          kind: 'table',
          head: ['Command', 'Result'],
          rows: [[{ code: 'migrate up' }, 'exit 0 after 2.5 s']]
        },
        { kind: 'verbatim', text: 'ok' }
      ])
    )
  })
})

describe('a rollback after a release', () => {
  /** A server that answers every command with exit 0, but the rollback command with `undoExit`. */
  function server(undoExit: number, output = 'boom\n') {
    const ran: string[] = []
    const answer = (argv: Argv): ExecResult => {
      const line = shJoin(argv)
      ran.push(line)
      if (line.includes(' run --rm ')) return { code: undoExit, stdout: '', stderr: output }
      return { code: 0, stdout: '', stderr: '' }
    }
    const remote = fakeRemote(answer)
    return { remote, ran }
  }
  const quiet: Log = { info: () => undefined, warn: () => undefined, group: (_n, fn) => fn() }
  const options = (): DeployOptions => ({
    ...parseOptions(raw({ 'rollback-command': 'migrate down', 'skip-healthcheck': 'true' }), ctx),
    deployPath: '/srv/shop',
    project: 'shop'
  })
  const attempt: Attempt = {
    release: { version: 'v2', services: ['api'] },
    previous: 'v1',
    facts: { method: 'tar', commit: 'abc', startedAt: 't0' },
    now: () => new Date('2025-10-11T14:30:52Z'),
    releaseRun: { command: 'migrate up', exit: 0, seconds: 1 }
  }

  /** The automatic rollback of the attempt (v2, whose release ran) to v1. */
  const backToV1 = (remote: Remote) =>
    rollBack(
      remote,
      options(),
      attempt,
      { version: 'v1', services: ['api'] },
      'v2',
      new Phases(quiet),
      quiet
    )

  test('runs the rollback command with the images of the version it leaves, then switches', async () => {
    const { remote, ran } = server(0)
    const out = await backToV1(remote)
    expect(out.problem).toBeUndefined()
    const undo = ran.findIndex(l => l.includes(' run --rm '))
    const up = ran.findIndex(l => l.includes(' up -d '))
    expect(ran[undo]).toBe(
      `timeout --kill-after=10 600 env DEPLOY_VERSION=v2 docker compose --project-name shop --file /srv/shop/.deploy/releases/v2/docker-compose.yml --project-directory /srv/shop run --rm -T --name shop-rollback-v2 --no-deps -e DEPLOY_VERSION=v2 -e DEPLOY_ROLLBACK_TO=v1 migrate down`
    )
    expect(up).toBeGreaterThan(undo)
    expect(ran[up]).toContain('DEPLOY_VERSION=v1 ')
    expect(out.records.map(r => [r.version, r.status, r.undo?.exit])).toEqual([
      ['v2', 'failed', undefined],
      ['v1', 'rollback', 0]
    ])
  })

  test("the command's output is logged behind '| ': a line that starts with '::' is no workflow command", async () => {
    const { remote } = server(0, '::add-mask::x\nplain\n')
    const lines: string[] = []
    const log: Log = { ...quiet, info: m => void lines.push(m) }
    await rollBack(
      remote,
      options(),
      attempt,
      { version: 'v1', services: ['api'] },
      'v2',
      new Phases(log),
      log
    )
    expect(lines).toEqual(expect.arrayContaining(['  | ::add-mask::x', '  | plain']))
    expect(lines.filter(l => l.trimStart().startsWith('::'))).toEqual([])
  })

  test('a failed rollback command stops it before any switch: the version stays, recorded ✖', async () => {
    const { remote, ran } = server(2)
    const out = await backToV1(remote)
    expect(out.problem).toContain('the rollback command of v2 (migrate down) failed: exit 2 after')
    expect(out.problem).toContain(
      'The rollback stopped before switching: v2 is still in service and its images were not switched back to v1'
    )
    expect(out.undo).toMatchObject({ command: 'migrate down', exit: 2, output: 'boom' })
    expect(ran.some(l => l.includes(' up -d '))).toBe(false)
    expect(ran.some(l => l.includes('docker tag '))).toBe(false)
    expect(ran).toContain('docker rm --force shop-rollback-v2')
    expect(out.records.map(r => [r.version, r.status, r.release?.command])).toEqual([
      ['v2', 'failed', 'migrate up']
    ])
  })
})
