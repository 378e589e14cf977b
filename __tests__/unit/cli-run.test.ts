// The CLI end to end without a process: flags, environment and config file in; the options the
// engine gets, what is printed, and the exit code out. The engine is a stand-in.

import type { DeployOptions } from '../../src/config/options.js'
import type { CommandResult } from '../../src/engine/commands/result.js'
import type { Log } from '../../src/engine/io.js'
import { runCli, type CliWorld } from '../../src/cli/run.js'
import { SAMPLES } from './cli-samples.js'

const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
  '-----END OPENSSH PRIVATE KEY-----',
  ''
].join('\n')
const FP = 'SHA256:' + 'A'.repeat(43)

interface Run {
  code: number
  stdout: string
  stderr: string
  options?: DeployOptions
  asked: string[]
}

/** Runs the CLI with `files` as the file system (paths under /repo) and `engine` as the engine. */
async function cli(
  argv: string[],
  opts: {
    env?: Record<string, string>
    files?: Record<string, string>
    interactive?: boolean
    answer?: string
    engine?: (o: DeployOptions, log: Log) => Promise<CommandResult>
  } = {}
): Promise<Run> {
  const run: Run = { code: -1, stdout: '', stderr: '', asked: [] }
  const world: CliWorld = {
    argv,
    env: opts.env ?? {},
    cwd: '/repo',
    stdout: t => void (run.stdout += t),
    stderr: t => void (run.stderr += t),
    interactive: opts.interactive ?? false,
    ask: async q => {
      run.asked.push(q)
      return opts.answer ?? ''
    },
    readFile: f => opts.files?.[f],
    runContext: async () => ({
      workspace: '/repo',
      sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
      actor: 'alice',
      now: new Date('2025-10-11T14:30:52Z')
    }),
    execute: async (o, log) => {
      run.options = o
      if (opts.engine) return opts.engine(o, log)
      log.info('engine ran')
      return { ...(SAMPLES.deployed as CommandResult), version: o.version }
    }
  }
  run.code = await runCli(world)
  return run
}

const SERVER = ['--host', '127.0.0.1', '--port', '2222', '--fingerprint', FP, '--key-file', 'id']
const FILES = { '/repo/id': KEY }

describe('exit codes', () => {
  const result = (status: CommandResult['status'], failure?: string) => async () => ({
    ...(SAMPLES.deployed as CommandResult),
    status,
    ...(failure ? { failure } : {})
  })
  test.each([
    ['success', undefined, 0],
    ['rolled-back', 'Rolled back to v1', 3],
    ['failed', 'build failed', 1],
    ['rollback-failed', 'both failed', 1]
  ] as const)('%s → %s', async (status, failure, code) => {
    const run = await cli(['deploy', '--services', 'api=.', ...SERVER], {
      files: FILES,
      engine: result(status, failure)
    })
    expect([run.code, run.stderr]).toEqual([code, ''])
  })

  test('an engine that throws: 1, with its message', async () => {
    const run = await cli(['status', ...SERVER], {
      files: FILES,
      engine: async () => {
        throw new Error('connection refused')
      }
    })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('✖ Status: nothing deployed is not healthy')
    expect(run.stdout).toContain('connection refused')
  })
})

describe('bad usage: exit 2, what is wrong and what is allowed, and the engine never runs', () => {
  test.each([
    [['deploy', '--hots', 'x'], /unknown option --hots \(did you mean --host\?\)\. Valid options:/],
    [['depoy'], /the command "depoy" is unknown/],
    [
      ['deploy', '--services', 'api=./api'],
      /--host: is required: the server's host name or IP address \(or use method local\) \(give --host, VERSIONED_DEPLOY_HOST, or "host:" in the config file\)/
    ],
    [['status', '--port', '2222', '--fingerprint', FP, '--key-file', 'id'], /--host: is required/],
    [
      ['status', '--host', 'h', '--fingerprint', FP],
      /--key: is required: the SSH private key text \(give --key or --key-file/
    ],
    [['status', ...SERVER, '--port', '99999'], /--port is given 2 times/],
    [
      ['status', '--host', 'h', '--fingerprint', FP, '--key-file', 'nope'],
      /^versioned-deploy: --key-file: cannot read the file$/m
    ],
    [['status', ...SERVER, '--config', 'missing.yml'], /--config missing.yml: cannot read the file/]
  ])('%j', async (argv, message) => {
    const run = await cli(argv as string[], { files: FILES })
    expect([run.code, run.options, run.stdout]).toEqual([2, undefined, ''])
    expect(run.stderr).toMatch(message)
    expect(run.stderr).toMatch(/Run "versioned-deploy( \w+)? --help" for usage\.\n$/)
  })

  test("a value refused by the action's own parser names where it came from", async () => {
    const run = await cli(['status', ...SERVER], {
      files: FILES,
      env: { VERSIONED_DEPLOY_HEALTHCHECK_TIMEOUT: 'soon' }
    })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(
      '--healthcheck-timeout (from VERSIONED_DEPLOY_HEALTHCHECK_TIMEOUT): "soon" is not a number of seconds above 0 and at most 86400'
    )
  })

  test('a config file that is not YAML, or names an unknown option', async () => {
    for (const [text, message] of [
      ['host: [unclosed\n', /versioned-deploy.yml is not valid YAML: .* at line/],
      ['hosts: x\n', /versioned-deploy.yml: "hosts" is not an option\. Options: method, /]
    ] as const) {
      const run = await cli(['status'], { files: { '/repo/versioned-deploy.yml': text } })
      expect([run.code, run.options]).toEqual([2, undefined])
      expect(run.stderr).toMatch(message)
    }
  })
})

describe('options reach the engine as the action would make them', () => {
  test('flag over environment over file over default; key-file read; multi-line lists', async () => {
    const file = [
      'project: shop',
      'host: file.test',
      'port: 2200',
      `fingerprint: ${FP}`,
      'key-file: id',
      'services:',
      '  - api=services/api',
      '  - web=services/web:Dockerfile.prod',
      'healthchecks: |',
      '  http://127.0.0.1:8080/health',
      '  tcp://127.0.0.1:5432',
      'healthcheck-timeout: 30'
    ].join('\n')
    const run = await cli(['deploy', 'local', '--healthcheck-timeout', '45', '--no-rollback'], {
      files: { ...FILES, '/repo/versioned-deploy.yml': file },
      env: { VERSIONED_DEPLOY_PORT: '2300', VERSIONED_DEPLOY_DEPLOY_PATH: '/srv/shop' }
    })
    expect(run.code).toBe(0)
    expect(run.options).toMatchObject({
      command: 'deploy',
      method: 'local',
      project: 'shop',
      version: 'e4534e6-20251011-143052',
      deployPath: '/srv/shop',
      healthTimeoutMs: 45_000,
      noRollback: true,
      skipBuild: false,
      commit: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
      actor: 'alice',
      services: [
        { name: 'api', context: '/repo/services/api', dockerfile: 'Dockerfile' },
        { name: 'web', context: '/repo/services/web', dockerfile: 'Dockerfile.prod' }
      ],
      healthchecks: [
        { kind: 'http', url: 'http://127.0.0.1:8080/health', line: 'http://127.0.0.1:8080/health' },
        { kind: 'tcp', host: '127.0.0.1', port: 5432, line: 'tcp://127.0.0.1:5432' }
      ]
    })
    // method local: no SSH even though the file names a host.
    expect(run.options?.ssh).toBeUndefined()

    // ~/ in a path is the home directory.
    const remote = await cli(['rollback', 'v3', '--config', '~/ci.yml'], {
      files: {
        '/home/alice/id': KEY,
        '/home/alice/ci.yml': file.replace('key-file: id', 'key-file: ~/id')
      },
      env: { VERSIONED_DEPLOY_PORT: '2300', HOME: '/home/alice' }
    })
    expect(remote.options).toMatchObject({ command: 'rollback', version: 'v3' })
    expect(remote.options?.ssh).toMatchObject({
      host: 'file.test',
      port: 2300,
      privateKey: KEY,
      fingerprints: [FP]
    })
  })
})

describe('confirmation', () => {
  const deploy = ['deploy', '--services', 'api=.', ...SERVER]

  test('a terminal is asked, with host, project, version and method; no answer cancels', async () => {
    const run = await cli(deploy, { files: FILES, interactive: true, answer: '' })
    expect([run.code, run.options, run.asked]).toEqual([1, undefined, ['Proceed? [y/N] ']])
    expect(run.stderr).toBe(
      [
        'About to deploy:',
        '  host        root@127.0.0.1:2222',
        '  project     repo',
        '  version     e4534e6-20251011-143052',
        '  method      tar',
        '  deploy path /opt/repo',
        'cancelled: nothing was done',
        ''
      ].join('\n')
    )
  })

  test('yes runs it; --force and a standard input that is not a terminal do not ask', async () => {
    for (const [argv, interactive, answer] of [
      [deploy, true, 'y'],
      [[...deploy, '--force'], true, ''],
      [deploy, false, '']
    ] as const) {
      const run = await cli([...argv], { files: FILES, interactive, answer })
      expect(run.code).toBe(0)
      expect(run.asked.length).toBe(argv === deploy && interactive ? 1 : 0)
    }
  })

  test('a rollback without a version says the previous good one; status is not asked about', async () => {
    const run = await cli(['rollback', ...SERVER], {
      files: FILES,
      interactive: true,
      answer: 'no'
    })
    expect(run.stderr).toContain('About to roll back:')
    expect(run.stderr).toContain('version     the previous good version (decided on the server)')
    const status = await cli(['status', ...SERVER], { files: FILES, interactive: true })
    expect([status.code, status.asked]).toEqual([0, []])
  })
})

describe('output', () => {
  test('for people: the log with its phases, then the summary as text tables', async () => {
    const run = await cli(['deploy', '--services', 'api=.', ...SERVER, '--version', 'v2'], {
      files: FILES,
      engine: async (o, log) => {
        await log.group('build', async () => log.info('built api'))
        log.warn('slow disk')
        return SAMPLES.deployed as CommandResult
      }
    })
    expect(run.stdout).toMatch(/^▸ build\n {2}built api\n\n✔ Deployed: v2\n/)
    expect(run.stdout).toContain('Phase     Time   Result')
    expect(run.stderr).toBe('warning: slow disk\n')
  })

  test('--json: the action outputs on stdout, the log on stderr', async () => {
    const run = await cli(['history', ...SERVER, '--json'], {
      files: FILES,
      engine: async (o, log) => {
        log.info('reading')
        return SAMPLES.rolledBack as CommandResult
      }
    })
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout)).toEqual({
      version: 'v2',
      'previous-version': 'v1',
      status: 'rolled-back',
      'rolled-back': 'true',
      method: 'tar',
      history: JSON.stringify(SAMPLES.rolledBack?.history),
      healthy: '',
      'restorable-versions': '',
      hosts: ''
    })
    expect(run.stderr).toBe('reading\nerror: health checks failed: HTTP 503\nRolled back to v1\n')
  })

  test('--help: 0, and nothing runs', async () => {
    const run = await cli(['deploy', '--help'])
    expect([run.code, run.options]).toEqual([0, undefined])
    expect(run.stdout).toMatch(
      /^Usage: versioned-deploy deploy \[tar\|registry\|local\] \[options\]/
    )
  })
})

describe('secrets never appear', () => {
  const PASS = 'correct horse'
  const TOKEN = 'ghp_0123456789abcdef'
  const leaky = async (o: DeployOptions, log: Log): Promise<CommandResult> => {
    log.info(`key ${o.ssh?.privateKey}`)
    log.warn(
      `passphrase ${o.ssh?.passphrase} and one key line b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ`
    )
    return {
      ...(SAMPLES.rolledBack as CommandResult),
      failure: `failed with ${TOKEN} and "${PASS}"`,
      notices: [`registry said ${PASS}`]
    }
  }

  test.each([[[]], [['--json']]])('in the log, tables, errors and JSON (%j)', async extra => {
    const run = await cli(
      ['deploy', '--services', 'api=.', ...SERVER, '--passphrase', PASS, ...extra],
      {
        files: FILES,
        env: { VERSIONED_DEPLOY_GITHUB_TOKEN: TOKEN },
        engine: leaky
      }
    )
    const all = run.stdout + run.stderr
    expect(all).toContain('***')
    for (const secret of [
      PASS,
      TOKEN,
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
      'PRIVATE KEY-----\nb3'
    ]) {
      expect(all).not.toContain(secret)
    }
  })

  test('in a refusal', async () => {
    const run = await cli(['status', '--host', PASS], {
      env: {
        VERSIONED_DEPLOY_PASSPHRASE: PASS,
        VERSIONED_DEPLOY_FINGERPRINT: FP,
        VERSIONED_DEPLOY_KEY: KEY
      }
    })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('"***" is not a host name')
  })
})
