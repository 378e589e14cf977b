// Fault injection, end to end: the bundled action against the sandbox's lab hosts while things
// go wrong on the way (a cut connection, a corrupt image stream, a compose file the server
// rejects, a stopped engine, wrong keys, hostile inputs, a damaged history). After each fault the
// server must still serve a healthy version, its state files must agree with it (current_version
// is the last good version, no `success` record for a failed attempt) and a normal deploy must
// work.
//
// Isolation from the other tests on the lab: project `vfault`, ports 18181-18183, deploy path
// /srv/vfault; server-side faults act only on the SSH sessions that came through this file's
// relay (see fault-kit.ts). Most tests run on lab host 1; the "engine stopped" scenario runs on
// lab host 3 and stops that host's engine (scripts/sandbox.sh engine 3 stop), never host 1's.
//
// Tests run in order: each starts from the version the previous one left in service.

import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { docker } from './sandbox-env.js'
import {
  DEPLOY_PATH,
  HOST,
  PORTS,
  PROJECT,
  Relay,
  SHARED,
  SHIM_DIR,
  clearStack,
  closedPort,
  env,
  errorOf,
  faultInputs,
  installShim,
  labEngine,
  liveVersion,
  readLog,
  resetProject,
  runStep,
  server,
  silentServer,
  snapshot,
  stackPath,
  stateFile,
  waitLive,
  type Stack,
  type Step
} from './fault-kit.js'

const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
/**
 * A file no run may ever create: every hostile payload tries to. /tmp is the same folder on this
 * machine and on every lab host (only /srv and /run are a host's own), so a payload that ran on
 * the runner or on a server would leave MARKER (and touch PWNED) where these checks look.
 */
const MARKER = `/tmp/vfault-pwned-${RUN_ID}`
const PWNED = '/tmp/pwned'
const mtimeOf = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : undefined)
const pwnedBefore = mtimeOf(PWNED)

/** Lab host 3, whose engine the "engine stopped" scenario stops, and the stack it runs there. */
const ENGINE_HOST = env.hosts[2]
if (!ENGINE_HOST) throw new Error('faults.test.ts needs lab host 3 (VD_LAB_HOSTS >= 3)')
const ENGINE: Stack = { host: ENGINE_HOST, deployPath: DEPLOY_PATH }

beforeAll(() => {
  // Leftovers of an interrupted earlier run of this file: its shims, an engine it stopped, and
  // the project on both hosts.
  for (const shim of ['docker', 'docker-compose']) rmSync(`${SHIM_DIR}/${shim}`, { force: true })
  labEngine(ENGINE.host, 'start')
  resetProject(SHARED)
  resetProject(ENGINE)
  expect(existsSync(MARKER)).toBe(false)
})

afterAll(() => {
  for (const shim of ['docker', 'docker-compose']) rmSync(`${SHIM_DIR}/${shim}`, { force: true })
  // No payload ran, here or on a server: /tmp is shared between this machine and the lab hosts
  // (see MARKER), so these files would show a payload that ran on either.
  expect(existsSync(MARKER)).toBe(false)
  expect(mtimeOf(PWNED)).toBe(pwnedBefore)
})

/** The version the server has in service: current_version, which must also be live. */
async function inService(stack: Stack = SHARED): Promise<string> {
  const current = (stateFile('current_version', stack) ?? '').trim()
  expect(current).not.toBe('')
  expect(await waitLive(current, 20_000, stack)).toBe(current)
  return current
}

/**
 * After a fault: `version` still answers, current_version names it, it is the last good record
 * of versions.log, and none of the failed attempts has a success record.
 */
async function expectStillServing(version: string, failed: string[], stack: Stack = SHARED) {
  expect(await waitLive(version, 30_000, stack)).toBe(version)
  expect(stateFile('current_version', stack)).toBe(`${version}\n`)
  const { records } = readLog(stack)
  const lastGood = [...records].reverse().find(r => ['success', 'rollback'].includes(r.status))
  expect(lastGood?.version).toBe(version)
  for (const attempt of failed) {
    expect(records.filter(r => r.version === attempt && r.status === 'success')).toEqual([])
  }
}

/** A normal deploy of `version` that must succeed and be live afterwards. */
async function deployNormally(
  version: string,
  overrides: Record<string, string> = {}
): Promise<Step> {
  const run = await runStep(faultInputs({ version, ...overrides }))
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(run.post?.code ?? 0).toBe(0)
  expect(await liveVersion()).toBe(version)
  expect(stateFile('current_version')).toBe(`${version}\n`)
  expect(readLog().records.at(-1)).toMatchObject({ version, status: 'success' })
  return run
}

const groupsOf = (run: ActionRun) =>
  run.log
    .split('\n')
    .filter(l => l.startsWith('::group::'))
    .map(l => l.slice('::group::'.length).trim())

// ---------------------------------------------------------------------------------------------

describe('4. the Docker engine on the server is stopped', () => {
  // On lab host 3, with that host's own engine, stopped and started again by the sandbox
  // (scripts/sandbox.sh engine 3 stop|start) as a real server's engine would be: host 1's engine,
  // which the other tests use, keeps running. The deploys go through a relay to host 3's sshd.
  // First, because it checks that the stack runs on host 3 and nothing of vfault on host 1.
  let relay: Relay

  beforeAll(async () => {
    relay = new Relay({ host: ENGINE.host })
    await relay.start()
  })
  afterAll(async () => {
    try {
      // Started again even when the test failed with the engine stopped; its containers come
      // back with it (restart: unless-stopped) and go with the rest of the project.
      labEngine(ENGINE.host, 'start')
      clearStack(ENGINE)
    } finally {
      await relay?.close()
    }
  })

  const inputs = (version: string, overrides: Record<string, string> = {}) =>
    faultInputs({
      version,
      port: String(relay.port),
      fingerprint: ENGINE.host.fingerprint,
      'deploy-path': ENGINE.deployPath,
      timeout: '10',
      ...overrides
    })
  const versionsLog = () => readFileSync(stackPath(ENGINE, '/.deploy/versions.log'), 'utf8')

  test('a deploy to a stopped engine fails at once and says why; the old version comes back with the engine', async () => {
    let run = await runStep(inputs('f4-before'))
    expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
    expect(await liveVersion(ENGINE)).toBe('f4-before')
    // It really runs on host 3's engine, not on host 1's.
    const running = (host: string) =>
      docker(host, ['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])
        .split('\n')
        .filter(Boolean).length
    expect([running(ENGINE.host.dockerHost), running(HOST.dockerHost)]).toEqual([3, 0])

    labEngine(ENGINE.host, 'stop')
    expect(await liveVersion(ENGINE)).toMatch(/^\(HTTP 0/)
    const before = versionsLog()

    run = await runStep(inputs('f4-engine-down'), { timeoutMs: 120_000 })
    expect(run.code).toBe(1)
    expect(run.outputs.status).toBe('failed')
    expect(errorOf(run)).toMatch(/Docker engine on the server does not answer/)
    expect(errorOf(run)).toMatch(/Cannot connect to the Docker daemon|docker\.sock/)
    // At once: the build (cached) and one command, far below any timeout.
    expect(run.ms).toBeLessThan(60_000)
    expect(groupsOf(run)).not.toContain('transfer')
    // Nothing recorded, nothing moved.
    expect(versionsLog()).toBe(before)
    expect(stateFile('current_version', ENGINE)).toBe('f4-before\n')

    // The engine comes back with its containers (restart: unless-stopped).
    labEngine(ENGINE.host, 'start')
    await expectStillServing('f4-before', ['f4-engine-down'], ENGINE)

    run = await runStep(inputs('f4-after'))
    expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
    expect(await liveVersion(ENGINE)).toBe('f4-after')
    expect(readLog(ENGINE).records.map(r => `${r.status} ${r.version}`)).toEqual([
      'success f4-before',
      'success f4-after'
    ])
  })
})

/** One step of `version` whose SSH connection goes through `relay` (started here, closed after). */
async function stepThroughRelay(relay: Relay, version: string): Promise<Step> {
  try {
    await relay.start()
    return await runStep(faultInputs({ version, port: String(relay.port), timeout: '10' }), {
      timeoutMs: 120_000
    })
  } finally {
    await relay.close()
  }
}

/**
 * A step through `relay` that sends every layer: for its sessions the server reports no images
 * when the action asks which layers it holds, so the whole archive (~1 MB) travels, as on a
 * first deploy; otherwise a redeploy sends only the few kB of changed layers and a cut after
 * 300 kB would never happen during the transfer.
 */
async function fullTransferThroughRelay(relay: Relay, version: string): Promise<Step> {
  const remove = installShim(
    'docker',
    `if [ "$1 $2 $3 $4" = "image ls -q --no-trunc" ]; then exit 0; fi`
  )
  try {
    return await stepThroughRelay(relay, version)
  } finally {
    remove()
  }
}

describe('on the shared server engine', () => {
  test('0. baseline: a normal deploy', async () => {
    await deployNormally('f0-base')
    expect(readLog().records.map(r => `${r.status} ${r.version}`)).toEqual(['success f0-base'])
  })

  test('1. the SSH connection is cut in the middle of the image transfer', async () => {
    const good = await inService()
    // The images travel as ~1 MB of gzip; the handshake and the commands before the transfer
    // take a few kB. Cut the connection after 300 kB went to the server.
    const relay = new Relay({ cutAfterBytes: 300 * 1024 })
    const run = await fullTransferThroughRelay(relay, 'f1-cut')
    // Only the main step's connection was cut (a post step connects again and is not).
    expect(relay.cuts).toEqual([0])
    expect(run.code).toBe(1)
    expect(run.outputs.status).toBe('failed')
    expect(run.outputs['rolled-back']).toBe('false')
    // During the transfer: it had started, nothing was switched.
    expect(groupsOf(run)).toContain('transfer')
    expect(groupsOf(run)).not.toContain('switch')
    expect(run.log).not.toMatch(/sent \d+ image\(s\)/)
    expect(run.ms).toBeLessThan(90_000)

    await expectStillServing(good, ['f1-cut'])
    await deployNormally('f1-after')

    // Found by this test: the step failed with just "Not connected" (ssh2's words for exec on
    // a closed client), because deploy() recorded the failed attempt over the connection that
    // was just lost and that error replaced the transfer's (and the summary lost its phases).
    // Fixed in src/engine/deploy.ts (the record after a failed transfer is best-effort) and
    // src/remote/ssh.ts (commands on a lost connection fail with why it was lost).
    const error = errorOf(run)
    expect(error).toMatch(/SSH connection (closed|lost)/i)
    expect(error).toContain(`The running version (${good}) was not touched.`)
    expect(run.summary).toMatch(/\| transfer \| [\d.]+ s \| failed \|/)
  })

  test('1b. the link drops mid-transfer and stays down past the job: the next deploy breaks the abandoned lock', async () => {
    const good = await inService()
    // The lock on the server (as the action names it), and where that folder is on this machine.
    const lock = `${DEPLOY_PATH}/.deploy/lock`
    const lockDir = stackPath(SHARED, '/.deploy/lock')
    const relay = new Relay({ cutAfterBytes: 300 * 1024, staysDown: true })
    const run = await fullTransferThroughRelay(relay, 'f1b-lost')
    expect(relay.cuts).toEqual([0])
    expect(run.code).toBe(1)
    expect(groupsOf(run)).toContain('transfer')
    expect(groupsOf(run)).not.toContain('switch')
    // The post step found the link down too: it could not release the lock, and says what
    // becomes of it.
    expect(relay.refused).toBeGreaterThan(0)
    expect(run.post?.code).toBe(1)
    expect(errorOf(run.post as ActionRun)).toContain(
      `The deploy lock ${lock} may be left behind: the next deploy breaks it once nobody has renewed it for 300 s (lock-stale-after)`
    )
    expect(JSON.parse(readFileSync(`${lockDir}/info`, 'utf8'))).toMatchObject({
      version: 'f1b-lost'
    })
    await expectStillServing(good, ['f1b-lost'])

    // The next deploy (its own link) waits until the lock is lock-stale-after old, breaks it
    // naming its holder, and succeeds.
    const STALE_AFTER = 25
    const ageAtStart = (Date.now() - statSync(lockDir).mtimeMs) / 1000
    expect(ageAtStart).toBeLessThan(STALE_AFTER) // else this would not show the waiting
    const next = await deployNormally('f1b-after', {
      'lock-stale-after': String(STALE_AFTER),
      'lock-timeout': '120'
    })
    expect(next.log).toMatch(
      /waiting for the deploy lock: version f1b-lost .*; last renewed \d+ s ago/
    )
    const broke =
      /::warning::breaking an abandoned deploy lock: version f1b-lost .*; last renewed (\d+) s ago/.exec(
        next.log
      )
    expect(Number(broke?.[1])).toBeGreaterThanOrEqual(STALE_AFTER)
    expect(existsSync(lockDir)).toBe(false)
    expect(
      readLog().records.filter(r => r.version === 'f1b-lost' && r.status === 'success')
    ).toEqual([])
  })

  test('2. docker load fails on the server: a corrupt image stream', async () => {
    const good = await inService()
    const containers = snapshot().containers
    const relay = new Relay()
    let run: Step
    // For the relay's sessions only, `docker load` gets a corrupt, truncated stream.
    const remove = installShim(
      'docker',
      `if [ "$1" = load ]; then
  head -c 20000 | tr 'a-m' 'n-z' | "$REAL" load
  exit $?
fi`
    )
    try {
      run = await stepThroughRelay(relay, 'f2-corrupt')
    } finally {
      remove()
    }
    expect(run.code).toBe(1)
    expect(run.outputs.status).toBe('failed')
    expect(errorOf(run)).toMatch(/docker load on the server failed \(exit [1-9]\d*\)/)
    expect(errorOf(run)).toContain(`The running version (${good}) was not touched.`)
    expect(groupsOf(run)).not.toContain('switch')
    expect(run.ms).toBeLessThan(90_000)
    // Nothing switched: the same containers run; the attempt is recorded as failed.
    expect(snapshot().containers).toEqual(containers)
    expect(readLog().records.at(-1)).toMatchObject({ version: 'f2-corrupt', status: 'failed' })
    expect(server(['image', 'ls', '-q', 'vfault-api:f2-corrupt'])).toBe('')

    await expectStillServing(good, ['f2-corrupt'])
    await deployNormally('f2-after')
  })

  test('3. the new version has a compose file the server rejects: the previous one comes back', async () => {
    const good = await inService()
    const run = await runStep(
      faultInputs({
        version: 'f3-bad-compose',
        'compose-file': '__tests__/e2e/fixtures/vfault/invalid-compose.yml'
      })
    )
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      status: 'rolled-back',
      'rolled-back': 'true',
      version: 'f3-bad-compose',
      'previous-version': good
    })
    const error = errorOf(run)
    expect(error).toMatch(/switching to f3-bad-compose failed/)
    // Compose's own words (v2: "services.api.restart must be a string"; v1: "… invalid type").
    expect(error).toMatch(/services\.api\.restart/)
    expect(error).toContain(`Rolled back to ${good}`)
    expect(readLog().records.slice(-2)).toMatchObject([
      { version: 'f3-bad-compose', status: 'failed' },
      { version: good, status: 'rollback' }
    ])

    await expectStillServing(good, ['f3-bad-compose'])
    await deployNormally('f3-after')
  })

  describe('5. wrong keys and unreachable servers fail within the timeout', () => {
    let dir = ''
    let otherKey = ''
    let otherFingerprint = ''
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'vfault-keys-'))
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/other`])
      otherKey = readFileSync(`${dir}/other`, 'utf8')
      otherFingerprint = execFileSync('ssh-keygen', ['-lf', `${dir}/other.pub`], {
        encoding: 'utf8'
      }).split(' ')[1] as string
      expect(otherFingerprint).toMatch(/^SHA256:/)
      expect(otherFingerprint).not.toBe(env.fingerprint)
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    test('wrong host key, wrong client key, closed port', async () => {
      const good = await inService()
      const before = snapshot()
      const silent = await silentServer()
      const closed = await closedPort()
      const cases: [string, Record<string, string>, RegExp][] = [
        // The host key of another machine is pinned: a man in the middle, as far as we know.
        [
          'wrong host key',
          { fingerprint: otherFingerprint },
          /host key of 127\.0\.0\.1:\d+ .*not .*pinned fingerprint.*refusing to connect/
        ],
        // A key that is not in authorized_keys.
        ['wrong client key', { key: otherKey }, /authentication methods failed/i],
        ['closed port', { port: String(closed) }, /ECONNREFUSED|refused/]
      ]
      try {
        for (const [what, overrides, message] of cases) {
          const run = await runStep(
            faultInputs({ version: `f5-${what.replace(/ /g, '-')}`, timeout: '10', ...overrides }),
            { timeoutMs: 90_000 }
          )
          const error = errorOf(run)
          expect([what, run.code, run.outputs.status]).toEqual([what, 1, 'failed'])
          expect([what, error]).toEqual([what, expect.stringMatching(/cannot connect to root@/)])
          expect([what, error]).toEqual([what, expect.stringMatching(message)])
          // Bounded by `timeout` (10 s) plus the (cached) build.
          expect([what, run.ms < 45_000]).toEqual([what, true])
        }
      } finally {
        await silent.close()
      }
      expect(snapshot()).toEqual(before)
      await expectStillServing(good, [])
      await deployNormally('f5-after')
    })

    test('a port that accepts TCP and never speaks SSH: the timeout ends it', async () => {
      const good = await inService()
      const before = snapshot()
      const silent = await silentServer()
      let run: Step
      try {
        run = await runStep(
          faultInputs({ version: 'f5-silent-port', port: String(silent.port), timeout: '10' }),
          { timeoutMs: 90_000 }
        )
      } finally {
        await silent.close()
      }
      expect([run.code, run.outputs.status]).toEqual([1, 'failed'])
      // The timeout, not something else, ended it: at 10 s, and soon after.
      expect(run.ms).toBeGreaterThanOrEqual(9_000)
      expect(run.ms).toBeLessThan(45_000)
      expect(snapshot()).toEqual(before)
      await expectStillServing(good, ['f5-silent-port'])

      // Found by this test: the step crashed ("Unhandled 'error' event ... Connection lost
      // before handshake", no ::error:: line, no job summary): after ssh2's handshake timeout,
      // login() in src/remote/ssh.ts called client.end() with no 'error' listener left (it
      // listened with `once`), and ssh2 emits a second error. Fixed there by listening again
      // before client.end().
      const crash = /Unhandled 'error' event[\s\S]*?\n(\S*Error: .*)/.exec(run.log)
      expect(crash ? `crashed: ${crash[1]}` : 'no crash').toBe('no crash')
      expect(errorOf(run)).toMatch(
        /cannot connect to root@127\.0\.0\.1:\d+ over SSH: Timed out while waiting for handshake/
      )
      expect(run.summary).toContain('✖ Deploy failed')
    })
  })

  describe('6. hostile input', () => {
    // Each payload tries to create /tmp/pwned and MARKER, by command substitution, backticks,
    // a `;`, a broken quote, or a newline (a NUL byte cannot travel in an environment
    // variable: __tests__/unit/parse.test.ts feeds one into every input instead).
    const touch = `touch ${PWNED} ${MARKER}`
    const PAYLOADS = {
      substitution: `$(${touch})`,
      backticks: `\`${touch}\``,
      semicolon: `x;${touch}`,
      quotes: `x'"; ${touch}; echo "'`,
      newline: `x\n${touch}`
    }
    type Payload = keyof typeof PAYLOADS

    // Every input whose value reaches the server or a command, with where the payload goes.
    // The `cmd:` health check is left out on purpose: it is the user's own shell command, run
    // on the server by design (like a `run:` step), so it cannot be hostile input.
    const FIELDS: [string, (p: string) => Record<string, string>][] = [
      ['version', p => ({ version: p })],
      ['project', p => ({ project: p })],
      ['services', p => ({ services: `${p}=examples/stack:api.Dockerfile` })], // a name
      ['services', p => ({ services: `api=${p}` })], // a build context
      ['services', p => ({ services: `api=examples/stack:${p}` })], // a Dockerfile
      ['compose-file', p => ({ 'compose-file': p })],
      ['deploy-path', p => ({ 'deploy-path': `/var/tmp/${p}` })],
      ['username', p => ({ username: p })],
      ['host', p => ({ host: p })],
      ['port', p => ({ port: p })],
      ['fingerprint', p => ({ fingerprint: p })],
      // Never reaches a shell (ssh2 parses it), but must be refused all the same. The
      // passphrase is any text by nature: test 7 carries a hostile one as a literal.
      ['key', p => ({ key: p })],
      ['healthchecks', p => ({ healthchecks: `http://${p}/health` })], // a host
      ['healthchecks', p => ({ healthchecks: `http://127.0.0.1:${p}/health` })], // a port
      ['healthchecks', p => ({ healthchecks: `tcp://${p}:18183` })],
      ['build-args', p => ({ 'build-args': `${p}=1` })], // a name
      ['keep-versions', p => ({ 'keep-versions': p })],
      ['keep-history', p => ({ 'keep-history': p })],
      ['timeout', p => ({ timeout: p })],
      ['healthcheck-timeout', p => ({ 'healthcheck-timeout': p })],
      ['healthcheck-interval', p => ({ 'healthcheck-interval': p })],
      ['lock-timeout', p => ({ 'lock-timeout': p })],
      ['lock-stale-after', p => ({ 'lock-stale-after': p })],
      ['skip-healthcheck', p => ({ 'skip-healthcheck': p })],
      ['no-rollback', p => ({ 'no-rollback': p })],
      ['insecure-skip-host-key-check', p => ({ 'insecure-skip-host-key-check': p })],
      ['command', p => ({ command: p })],
      ['method', p => ({ method: p })],
      ['healthcheck-monitor', p => ({ 'healthcheck-monitor': p })],
      ['skip-build', p => ({ 'skip-build': p })],
      ['force-unlock', p => ({ 'force-unlock': p })],
      ['registry', p => ({ method: 'registry', registry: p })],
      [
        'registry-username',
        p => ({
          method: 'registry',
          registry: 'registry.example:5000/team',
          'registry-username': p,
          'registry-password': 'any text: a secret, sent on standard input only'
        })
      ]
    ]
    // A build-arg value that is a newline splits into a second line, which is no KEY=value.
    const VALUE_WITH_NEWLINE: [string, (p: string) => Record<string, string>] = [
      'build-args',
      p => ({ 'build-args': `EVIL=${p}` })
    ]

    test('is refused before anything is built or connected, naming the input', async () => {
      const before = snapshot()
      // Should a value slip through, it meets a closed port, not the server.
      const closed = String(await closedPort())
      const cases: [string, Payload, Record<string, string>][] = []
      for (const [name, place] of FIELDS) {
        for (const payload of Object.keys(PAYLOADS) as Payload[]) {
          cases.push([name, payload, place(PAYLOADS[payload])])
        }
      }
      cases.push([VALUE_WITH_NEWLINE[0], 'newline', VALUE_WITH_NEWLINE[1](PAYLOADS.newline)])

      const failures: string[] = []
      const started = Date.now()
      let next = 0
      // Six at a time; every run is bounded by its own timeout.
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (next < cases.length) {
            const [name, payload, overrides] = cases[next++] as (typeof cases)[number]
            const run = await runAction(
              faultInputs({ version: 'f6-refused', port: closed, timeout: '5', ...overrides }),
              {},
              { timeoutMs: 60_000 }
            )
            const error = errorOf(run)
            const ok =
              run.code === 1 &&
              run.outputs.status === 'failed' &&
              error.startsWith(`Input "${name}"`) &&
              !groupsOf(run).includes('build') &&
              !groupsOf(run).includes('connect')
            if (!ok) {
              failures.push(
                `${name} ← ${payload}: exit ${run.code}, groups [${groupsOf(run).join(', ')}], error: ${error || run.log.slice(-500)}`
              )
            }
          }
        })
      )
      expect(failures).toEqual([])
      expect(cases.length).toBeGreaterThan(130)
      expect(Date.now() - started).toBeLessThan(300_000)
      expect(existsSync(MARKER)).toBe(false)
      expect(mtimeOf(PWNED)).toBe(pwnedBefore)
      expect(snapshot()).toEqual(before)
    })

    test('is carried as a literal where it is data: a build-arg value, a health check query', async () => {
      const hostile = `$(${touch}) \`${touch}\`; ${touch} | ${touch} && ${touch} > ${MARKER} 'q' "dq" \\ $HOME`
      const query = `?q=$(${touch.replace(/ /g, '%20')})&b=\`id\`;x'y"`
      const run = await deployNormally('f6-literal', {
        services: [
          'api=examples/stack:api.Dockerfile',
          'web=examples/stack:web.Dockerfile',
          'db=examples/stack:db.Dockerfile',
          'literal=__tests__/e2e/fixtures/vfault/literal'
        ].join('\n'),
        'build-args': `EVIL=${hostile}`,
        'compose-file': '__tests__/e2e/fixtures/vfault/literal-compose.yml',
        healthchecks: `http://127.0.0.1:${PORTS.api}/version${query}\ntcp://127.0.0.1:${PORTS.db}`
      })
      // The value went through the build and the transfer byte for byte.
      const label = server([
        'image',
        'inspect',
        '--format',
        '{{index .Config.Labels "vfault.evil"}}',
        'vfault-literal:f6-literal'
      ])
      expect(label.replace(/\n$/, '')).toBe(hostile)
      // The query went, as it is, to the service (which ignores it) and passed.
      expect(run.log).toContain(`✔ http://127.0.0.1:${PORTS.api}/version${query}: HTTP 200`)
      expect(existsSync(MARKER)).toBe(false)
      expect(mtimeOf(PWNED)).toBe(pwnedBefore)
    })
  })

  test('7. a key with a passphrase: a full deploy, and no secret in the log, summary or outputs', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vfault-pass-'))
    const comment = `vfault-passphrase-${RUN_ID}`
    // Every lab host's sshd reads it (scripts/sandbox/lab.sh: one file a user).
    const authorized = `${env.dir}/ssh/authorized_keys.root`
    // Characters a shell or a log command could trip on, too.
    const passphrase = `pw-${randomBytes(6).toString('hex')} '"$(touch ${MARKER})\`%;,:`
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      passphrase,
      '-C',
      comment,
      '-f',
      `${dir}/id`
    ])
    const key = readFileSync(`${dir}/id`, 'utf8')
    expect(key).toContain('BEGIN OPENSSH PRIVATE KEY')
    appendFileSync(authorized, `\n${readFileSync(`${dir}/id.pub`, 'utf8').trim()}\n`)
    const steps: ActionRun[] = []
    try {
      const run = await deployNormally('f7-passphrase', { key, passphrase })
      steps.push(run)
      if (run.post) steps.push(run.post)
      // A wrong passphrase fails clearly and leaks nothing either.
      const wrong = await runStep(
        faultInputs({ version: 'f7-wrong-passphrase', key, passphrase: `${passphrase}x` }),
        { timeoutMs: 90_000 }
      )
      expect(wrong.code).toBe(1)
      expect(errorOf(wrong)).toMatch(/passphrase|decrypt|parse/i)
      steps.push(wrong)
      if (wrong.post) steps.push(wrong.post)
    } finally {
      const kept = readFileSync(authorized, 'utf8')
        .split('\n')
        .filter(l => !l.includes(comment))
      writeFileSync(authorized, `${kept.join('\n').replace(/\n+$/, '')}\n`)
      rmSync(dir, { recursive: true, force: true })
    }
    expect(readFileSync(authorized, 'utf8')).not.toContain(comment)

    // The armour lines (-----BEGIN/END …-----) are the same in every key: not secret.
    const secrets = [
      passphrase,
      ...key
        .split('\n')
        .map(l => l.trim())
        .filter(l => l !== '' && !l.startsWith('-----'))
    ]
    expect(secrets.length).toBeGreaterThan(3)
    const leaks: string[] = []
    for (const step of steps) {
      const texts = {
        // `::add-mask::` is how a runner learns what to mask: the one place a secret belongs.
        log: step.log
          .split('\n')
          .filter(l => !l.startsWith('::add-mask::'))
          .join('\n'),
        summary: step.summary,
        outputs: JSON.stringify(step.outputs),
        state: JSON.stringify((step as ActionRun & { state?: unknown }).state ?? {})
      }
      for (const [where, text] of Object.entries(texts)) {
        for (const secret of secrets) {
          if (text.includes(secret)) leaks.push(`${where}: ${secret.slice(0, 12)}…`)
        }
      }
    }
    expect(leaks).toEqual([])
    // The check can see a secret: the runner was told to mask exactly these values.
    const escaped = (text: string) => text.replace(/%/g, '%25')
    expect(steps[0]?.log).toContain(`::add-mask::${escaped(passphrase)}\n`)
    expect(steps[0]?.log).toContain(`::add-mask::${secrets[1]}\n`)
    expect(existsSync(MARKER)).toBe(false)
    await expectStillServing('f7-passphrase', ['f7-wrong-passphrase'])
  })

  test('8. a damaged line in versions.log is skipped with a warning', async () => {
    const good = await inService()
    const file = stackPath(SHARED, '/.deploy/versions.log')
    const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split('\n')
    expect(lines.length).toBeGreaterThan(2)
    const at = Math.floor(lines.length / 2)
    // Garbage, and a record cut short (as a crash in the middle of a write leaves it).
    lines.splice(at, 0, 'not json ~~~ \u00ff\u00fe', '{"version":"f8-half","status":"succ')
    writeFileSync(file, `${lines.join('\n')}\n`)
    const damaged = [at + 1, at + 2]

    const run = await deployNormally('f8-damaged-log')
    expect(run.log).toContain(
      `::warning::versions.log: skipped damaged line(s) ${damaged.join(', ')}`
    )
    const history = JSON.parse(run.outputs.history ?? '') as { version: string; status: string }[]
    expect(Array.isArray(history)).toBe(true)
    expect(history[0]).toMatchObject({ version: 'f8-damaged-log', status: 'success' })
    expect(history.map(r => r.version)).toContain(good)
    expect(history.map(r => r.version)).not.toContain('f8-half')
    for (const r of history) expect(typeof r.version === 'string' && r.version !== '').toBe(true)

    await expectStillServing('f8-damaged-log', [])
    await deployNormally('f8-after')
  })
})
