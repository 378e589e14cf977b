import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { parseOptions, DEFAULTS, parseHealthchecks, parseServices } from '../../src/config/parse.js'
import { INPUT_NAMES, type RawInputs, type RunContext } from '../../src/config/inputs.js'
import { FP, raw, refusal } from './raw-inputs.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  repository: 'acme/Shop.Front',
  runUrl: 'https://github.example/acme/shop/actions/runs/1',
  actor: 'octocat',
  now: new Date('2025-10-11T14:30:52Z')
}

describe('parseOptions', () => {
  test('defaults', () => {
    const o = parseOptions(raw(), ctx)
    expect(o).toMatchObject({
      command: 'deploy',
      method: 'tar',
      orchestrator: 'compose',
      compression: 'gzip',
      version: 'e4534e6-20251011-143052',
      project: 'shop-front',
      composeFile: '/work/repo/docker-compose.yml',
      deployPath: '/opt/shop-front',
      healthTimeoutMs: 60000,
      healthIntervalMs: 2000,
      skipHealthcheck: false,
      noRollback: false,
      keepVersions: 5,
      keepHistory: 10,
      lockTimeoutMs: 600_000,
      // Five missed renewals (a holder renews at least once a minute).
      lockStaleAfterMs: 300_000,
      commit: ctx.sha,
      actor: 'octocat'
    })
    expect(o.ssh).toMatchObject({
      host: 'example.test',
      port: 22,
      username: 'root',
      fingerprints: [FP]
    })
    expect(o.services).toEqual([
      { name: 'api', context: '/work/repo/api', dockerfile: 'Dockerfile' }
    ])
  })

  test('every input', () => {
    const o = parseOptions(
      raw({
        version: 'v1.2.3',
        project: 'shop',
        services: 'api=services/api:Dockerfile.prod\n# comment\nweb = web',
        'compose-file': 'deploy/compose.yml',
        'build-args': 'NODE_ENV=production\nEMPTY=',
        port: '2222',
        username: 'deploy',
        passphrase: 'pw',
        fingerprint: `${FP}\nSHA256:${'b'.repeat(43)}`,
        'deploy-path': '/srv/shop/',
        healthchecks: 'http://127.0.0.1:8080/health\ntcp://127.0.0.1:5432\ncmd: docker ps',
        'healthcheck-timeout': '30',
        'healthcheck-interval': '0.5',
        'skip-healthcheck': 'true',
        'no-rollback': 'True',
        'keep-versions': '3',
        'keep-history': '20'
      }),
      ctx
    )
    expect(o.version).toBe('v1.2.3')
    expect(o.services).toEqual([
      { name: 'api', context: '/work/repo/services/api', dockerfile: 'Dockerfile.prod' },
      { name: 'web', context: '/work/repo/web', dockerfile: 'Dockerfile' }
    ])
    expect(o.composeFile).toBe('/work/repo/deploy/compose.yml')
    expect(o.buildArgs).toEqual({ NODE_ENV: 'production', EMPTY: '' })
    expect(o.ssh).toMatchObject({ port: 2222, username: 'deploy', passphrase: 'pw' })
    expect(o.ssh?.fingerprints).toHaveLength(2)
    expect(o.deployPath).toBe('/srv/shop')
    expect(o.healthchecks.map(h => h.kind)).toEqual(['http', 'tcp', 'cmd'])
    expect(o.healthIntervalMs).toBe(500)
    expect(o).toMatchObject({
      skipHealthcheck: true,
      noRollback: true,
      keepVersions: 3,
      keepHistory: 20
    })
  })

  test.each<[Partial<RawInputs>, string, RegExp]>([
    [
      { command: 'destroy' },
      'command',
      /"destroy" is not one of deploy, rollback, status, history, unlock/
    ],
    [{ method: 'ftp' }, 'method', /"ftp" is not one of tar, registry, local/],
    [{ compression: 'zstd' }, 'compression', /"zstd" is not one of gzip, none/],
    [{ compression: 'GZIP' }, 'compression', /"GZIP" is not one of gzip, none/],
    [{ command: 'rollback', version: 'v1;id' }, 'version', /must match/],
    [{ method: 'registry' }, 'registry', /is required with method registry/],
    [{ orchestrator: 'kubernetes' }, 'orchestrator', /"kubernetes" is not one of compose, swarm/],
    [
      { orchestrator: 'swarm' },
      'method',
      /"tar" cannot deploy to a swarm: .*needs method registry/
    ],
    [
      { orchestrator: 'swarm', method: 'local', command: 'rollback' },
      'method',
      /"local" cannot deploy to a swarm/
    ],
    [{ method: 'registry', registry: 'acme' }, 'registry', /not a registry reference/],
    [{ method: 'registry', registry: 'https://ghcr.io' }, 'registry', /not a registry reference/],
    [{ method: 'registry', registry: 'ghcr.io/Acme' }, 'registry', /not a registry reference/],
    [{ method: 'registry', registry: 'ghcr.io/a b' }, 'registry', /not a registry reference/],
    [
      { method: 'registry', registry: 'ghcr.io', 'registry-username': 'u' },
      'registry-password',
      /together/
    ],
    [
      { method: 'registry', registry: 'ghcr.io', 'registry-password': 'p' },
      'registry-username',
      /together/
    ],
    [{ 'registry-password': 'p' }, 'registry-password', /registry is empty/],
    [{ 'skip-build': 'maybe' }, 'skip-build', /true or false/],
    [{ 'force-unlock': 'yes' }, 'force-unlock', /true or false/],
    [{ 'healthcheck-monitor': '-1' }, 'healthcheck-monitor', /from 0 \(off\)/],
    [{ command: 'status', host: '' }, 'host', /required/],
    [{ version: '$(touch /tmp/pwned)' }, 'version', /must match/],
    [{ version: 'v1;rm -rf /' }, 'version', /must match/],
    [{ version: 'latest' }, 'version', /latest/],
    [{ version: 'backup-v1' }, 'version', /backup-/],
    [{ version: 'a\nb' }, 'version', /must match/],
    [{ project: 'Shop' }, 'project', /lowercase/],
    [{ project: 'a b' }, 'project', /lowercase/],
    [{ services: 'api' }, 'services', /service=build-context/],
    [{ services: 'API=./api' }, 'services', /lowercase/],
    [{ services: '`id`=./api' }, 'services', /lowercase/],
    [{ services: 'api=./a\napi=./b' }, 'services', /twice/],
    [{ 'build-args': 'not a pair' }, 'build-args', /KEY=value/],
    [{ host: '' }, 'host', /is required/],
    [{ host: 'a;b' }, 'host', /host name/],
    [{ port: '0' }, 'port', /1 to 65535/],
    [{ port: '22x' }, 'port', /1 to 65535/],
    [{ username: 'root;id' }, 'username', /user name/],
    [{ key: '' }, 'key', /is required/],
    [{ key: 'not a key' }, 'key', /PRIVATE KEY/],
    [{ fingerprint: '' }, 'fingerprint', /ssh-keyscan/],
    [{ fingerprint: 'MD5:aa:bb' }, 'fingerprint', /SHA256/],
    [{ 'deploy-path': 'relative/path' }, 'deploy-path', /absolute/],
    [{ 'deploy-path': '/opt/../etc' }, 'deploy-path', /\.\./],
    [{ 'deploy-path': '/' }, 'deploy-path', /absolute/],
    [{ 'deploy-path': "/opt/a'b" }, 'deploy-path', /absolute/],
    [{ healthchecks: 'ftp://x' }, 'healthchecks', /tcp:\/\/host:port/],
    [{ healthchecks: 'tcp://host-without-port' }, 'healthchecks', /tcp:\/\/host:port/],
    [{ healthchecks: 'cmd:' }, 'healthchecks', /no command/],
    [{ 'healthcheck-timeout': '-1' }, 'healthcheck-timeout', /seconds/],
    [{ 'healthcheck-interval': 'soon' }, 'healthcheck-interval', /seconds/],
    [{ 'skip-healthcheck': 'yes' }, 'skip-healthcheck', /true or false/],
    [{ 'no-rollback': '1' }, 'no-rollback', /true or false/],
    [{ 'keep-versions': '0' }, 'keep-versions', /whole number/],
    [{ 'keep-history': '1.5' }, 'keep-history', /whole number/],
    [{ project: 'a\u0000b' }, 'project', /control characters/]
  ])('%j is refused, naming %s', (overrides, input, message) => {
    expect(() => parseOptions(raw(overrides), ctx)).toThrow(
      expect.objectContaining({ input, message: expect.stringMatching(message) })
    )
  })

  test('compression: gzip or none', () => {
    expect(parseOptions(raw({ compression: 'none' }), ctx).compression).toBe('none')
    expect(parseOptions(raw({ compression: ' gzip ' }), ctx).compression).toBe('gzip')
  })

  test('registry: host, optional port and path; credentials both or neither', () => {
    for (const registry of [
      'ghcr.io/acme',
      'localhost:5000',
      '127.0.0.1:5001/team/app',
      'r.example/a_b'
    ]) {
      const o = parseOptions(raw({ method: 'registry', registry: `${registry}/` }), ctx)
      expect(o.registry).toEqual({ url: registry, host: registry.split('/')[0] })
    }
    const o = parseOptions(
      raw({
        method: 'registry',
        registry: 'ghcr.io/acme',
        'registry-username': 'bot',
        'registry-password': 's3cret'
      }),
      ctx
    )
    expect(o.registry).toEqual({
      url: 'ghcr.io/acme',
      host: 'ghcr.io',
      username: 'bot',
      password: 's3cret'
    })
  })

  test('files: read for a deploy, relative to the workspace; ignored by other commands', () => {
    expect(parseOptions(raw({ files: 'nginx/default.conf\n./config/' }), ctx)).toMatchObject({
      workspace: '/work/repo',
      files: ['nginx/default.conf', 'config']
    })
    expect(parseOptions(raw(), ctx).files).toEqual([])
    expect(() => parseOptions(raw({ files: '../other-repo/app.yml' }), ctx)).toThrow(
      'Input "files": "../other-repo/app.yml" contains "..": every path must stay inside the workspace'
    )
    expect(parseOptions(raw({ command: 'rollback', files: '/etc' }), ctx).files).toEqual([])
  })

  test("environment turns GitHub Deployments on, at the run's API", () => {
    expect(parseOptions(raw(), ctx).deployments).toBeUndefined()
    expect(
      parseOptions(
        raw({
          environment: 'production',
          'environment-url': 'https://shop.example',
          'github-token': 'tok'
        }),
        { ...ctx, apiUrl: 'https://ghes.example/api/v3/' }
      ).deployments
    ).toEqual({
      environment: 'production',
      environmentUrl: 'https://shop.example',
      token: 'tok',
      repository: 'acme/Shop.Front',
      apiUrl: 'https://ghes.example/api/v3'
    })
    expect(parseOptions(raw({ environment: 'staging' }), ctx).deployments?.apiUrl).toBe(
      'https://api.github.com'
    )
    expect(() => parseOptions(raw({ 'environment-url': 'https://x.example' }), ctx)).toThrow(
      'Input "environment-url": is set but environment is empty'
    )
    expect(() =>
      parseOptions(raw({ environment: 'prod', 'environment-url': 'ftp://x' }), ctx)
    ).toThrow('Input "environment-url": "ftp://x" is not an http:// or https:// URL')
  })

  test('method local needs no server; other commands need no services', () => {
    const local = parseOptions(raw({ method: 'local', host: '', key: '', fingerprint: '' }), ctx)
    expect(local.ssh).toBeUndefined()
    for (const command of ['rollback', 'status', 'history', 'unlock']) {
      const o = parseOptions(raw({ command, services: '' }), ctx)
      expect([o.command, o.services, o.version]).toEqual([command, [], ''])
    }
    expect(parseOptions(raw({ command: 'rollback', version: 'v7' }), ctx).version).toBe('v7')
  })

  test('skip-build leaves the version to the images built; healthcheck-monitor 0 turns it off', () => {
    const o = parseOptions(raw({ 'skip-build': 'true', 'healthcheck-monitor': '0' }), ctx)
    expect([o.skipBuild, o.version, o.healthMonitorMs]).toEqual([true, '', 0])
    expect(parseOptions(raw(), ctx).healthMonitorMs).toBe(10000)
  })

  test('insecure-skip-host-key-check allows a missing fingerprint', () => {
    const o = parseOptions(raw({ fingerprint: '', 'insecure-skip-host-key-check': 'true' }), ctx)
    expect(o.ssh?.insecureSkipHostKeyCheck).toBe(true)
  })

  test('without a commit, a version must be given', () => {
    expect(() => parseOptions(raw(), { ...ctx, sha: '' })).toThrow(/give a version/)
    expect(parseOptions(raw({ version: 'v9' }), { ...ctx, sha: '' }).version).toBe('v9')
  })

  test('the project defaults to the workspace folder without a repository', () => {
    expect(parseOptions(raw(), { ...ctx, repository: undefined }).project).toBe('repo')
  })
})

test('orchestrator swarm with method registry; status needs no method', () => {
  const swarm = { orchestrator: 'swarm', method: 'registry', registry: 'ghcr.io/acme' }
  expect(parseOptions(raw(swarm), ctx).orchestrator).toBe('swarm')
  expect(parseOptions(raw({ orchestrator: 'swarm', command: 'status' }), ctx)).toMatchObject({
    orchestrator: 'swarm',
    method: 'tar'
  })
})

describe('line parsers', () => {
  test('health checks keep their own line for reports', () => {
    expect(parseHealthchecks('  tcp://[::1]:5432  \n\nhttps://app.internal/ping?x=1')).toEqual([
      { kind: 'tcp', host: '::1', port: 5432, line: 'tcp://[::1]:5432' },
      { kind: 'http', url: 'https://app.internal/ping?x=1', line: 'https://app.internal/ping?x=1' }
    ])
  })
  test('a Dockerfile after the last colon', () => {
    expect(parseServices('db=./db:docker/Dockerfile', '/w')).toEqual([
      { name: 'db', context: '/w/db', dockerfile: 'docker/Dockerfile' }
    ])
  })
  test.each([
    ['web=.:Dockerfile@runtime', { context: '/w', dockerfile: 'Dockerfile', target: 'runtime' }],
    ['web=./web@build-1', { context: '/w/web', dockerfile: 'Dockerfile', target: 'build-1' }],
    ['web=./pkgs/@scope/ui', { context: '/w/pkgs/@scope/ui', dockerfile: 'Dockerfile' }],
    [
      'web=./pkgs/@scope/ui:ui.Dockerfile@prod',
      { context: '/w/pkgs/@scope/ui', dockerfile: 'ui.Dockerfile', target: 'prod' }
    ]
  ])('a stage after the last "@": %s', (line, spec) => {
    expect(parseServices(line, '/w')).toStrictEqual([{ name: 'web', ...spec }])
  })
  test('an "@" without a stage is refused', () => {
    expect(refusal(() => parseServices('web=.:Dockerfile@', '/w'))).toBe(
      'Input "services": "web=.:Dockerfile@" ends with "@": name the Dockerfile stage after it'
    )
    expect(refusal(() => parseServices('web', '/w'))).toBe(
      'Input "services": "web" is not "service=build-context", "service=build-context:Dockerfile" or either with "@target" (a stage of the Dockerfile)'
    )
  })
})

describe('action.yml', () => {
  const action = parseYaml(readFileSync('action.yml', 'utf8')) as {
    inputs: Record<string, { default?: string }>
    outputs: Record<string, unknown>
    runs: { using: string; main: string }
  }
  test('declares exactly the inputs the code reads', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort())
  })
  test('its defaults are the parser defaults', () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      expect([name, action.inputs[name]?.default]).toEqual([name, value])
    }
  })
  test('declares the outputs of the contract and runs dist on node24', () => {
    expect(Object.keys(action.outputs).sort()).toEqual([
      'healthy',
      'history',
      'hosts',
      'method',
      'previous-version',
      'restorable-versions',
      'rolled-back',
      'status',
      'version'
    ])
    expect(action.runs).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/index.js',
      'post-if': 'always()'
    })
  })
})

describe('a NUL byte in any input', () => {
  // An environment variable cannot carry a NUL, so the end-to-end hostile-input test
  // (__tests__/e2e/faults.test.ts) cannot send one: here every input gets one, on its first
  // line and on a later line. The private keys are left out: their text goes to ssh2's key
  // parser only, never into a command.
  const names = INPUT_NAMES.filter(n => n !== 'key' && n !== 'proxy-key')
  test.each(
    names.flatMap(n => [[n, 'a\u0000$(touch /tmp/pwned)'] as const, [n, 'a\nb\u0000c'] as const])
  )('%s = %j is refused, naming it', (input, text) => {
    expect(() => parseOptions(raw({ [input]: text }), ctx)).toThrow(
      expect.objectContaining({ input, message: expect.stringMatching(/control characters/) })
    )
  })
})
