// The deploy suite: the example stack deployed to the sandbox server through the bundled
// action, logged in as the non-root user `deploy` who owns the deploy path (the path the README
// tells users to take). deploy.test.ts runs it on Compose v2, deploy-compose-v1.test.ts once
// more on Compose v1; the suite itself is the same. Tests run in order and build on each other
// (v1 is what later ones fall back to).

import { readdirSync, readFileSync } from 'node:fs'
import { runAction } from '../../scripts/run-action.mjs'
import { hasImage } from './sandbox-env.js'
import {
  asDeployUser,
  env,
  errorOf,
  DEPLOY_PATH,
  PROJECT,
  STATE,
  historyOf,
  httpGet,
  liveVersions,
  logRecords,
  resetServer,
  runner,
  runnerPortOpen,
  server,
  serverContainers,
  serverSnapshot,
  serverTags,
  stackInputs,
  stateFile
} from './stack.js'

export type ComposeFlavour = 'v1' | 'v2'

const FIXTURES = '__tests__/e2e/fixtures'

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** What each flavour says, on its standard error, of an env file that is not there. */
const REFUSAL: Record<ComposeFlavour, RegExp> = {
  v1: new RegExp(`Couldn't find env file: ${escaped(DEPLOY_PATH)}/does-not-exist\\.env`),
  v2: new RegExp(`env file ${escaped(DEPLOY_PATH)}/does-not-exist\\.env not found`)
}

/** The suite, run by a test file whose server offers compose `flavour`. */
export function deploySuite(flavour: ComposeFlavour): void {
  /** Inputs that deploy the example stack as the user `deploy`. */
  const inputs = (overrides: Record<string, string> = {}) =>
    stackInputs({ ...asDeployUser(), ...overrides })

  const SHA = 'abcdef0123456789abcdef0123456789abcdef01'
  let v1 = ''

  beforeAll(() => resetServer(env.deployUser))

  describe('deploy over SSH with tar', () => {
    test('v1: a generated version is built, shipped, started, verified and recorded', async () => {
      const run = await runAction(inputs(), { GITHUB_SHA: SHA })
      expect(run.log).not.toContain('::error::')
      expect(run.code).toBe(0)
      expect(run.log).toContain(`compose ${flavour}`)
      v1 = run.outputs.version ?? ''
      expect(v1).toMatch(/^abcdef0-\d{8}-\d{6}$/)
      expect(run.outputs).toMatchObject({
        status: 'success',
        'previous-version': '',
        'rolled-back': 'false',
        method: 'tar'
      })
      expect(historyOf(run.outputs)).toEqual([`success ${v1}`])

      // The server engine runs v1 (images travelled: the runner runs nothing of the project).
      expect(await liveVersions()).toEqual({ api: v1, web: v1, db: v1 })
      // On the stack's own bridge network: web asks api by its service name.
      expect(await httpGet('http://127.0.0.1:18082/cgi-bin/api')).toEqual({
        status: 200,
        body: `api says ${v1}`
      })
      // The checks passed, and ran on the server: the stack's ports answer on the server's own
      // loopback only; on this machine's (where the action runs) nothing listens on them.
      for (const port of [18081, 18082, 18083]) {
        expect([port, await runnerPortOpen(port)]).toEqual([port, false])
      }
      expect(serverContainers().map(c => c.split(' ')[0])).toEqual(
        ['api', 'db', 'web'].map(s => `${PROJECT}-${s}:${v1}`)
      )
      expect(runner(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).toBe(
        ''
      )

      // State files agree with the outputs.
      expect(stateFile('current_version')).toBe(`${v1}\n`)
      expect(stateFile('current_method')).toBe('tar\n')
      const [record] = logRecords() as Record<string, string>[]
      expect(record).toMatchObject({
        version: v1,
        status: 'success',
        method: 'tar',
        commit: SHA,
        previous: '',
        run_url: 'https://github.example/example/vdemo/actions/runs/42',
        actor: 'e2e'
      })
      expect(Date.parse(record?.started_at ?? '')).toBeLessThanOrEqual(
        Date.parse(record?.finished_at ?? '')
      )
      expect(stateFile(`releases/${v1}/docker-compose.yml`)).toBe(
        readFileSync('examples/stack/docker-compose.yml', 'utf8')
      )
      // latest is the version in service.
      const id = (ref: string) => server(['image', 'inspect', '--format', '{{.Id}}', ref]).trim()
      expect(id(`${PROJECT}-api:latest`)).toBe(id(`${PROJECT}-api:${v1}`))

      expect(run.summary).toContain(`✔ Deployed: ${v1}`)
      expect(run.summary).toMatch(/\| transfer \| [\d.]+ s \| ok \|/)
      expect(run.summary).toContain('| ✔ | `http://127.0.0.1:18081/health` |')
      // The settle window watched the stack after its checks passed.
      expect(run.summary).toMatch(
        /\| ✔ \| settle window: 2 s \(healthcheck-monitor\) \| [1-9]\d* \| containers unchanged and every check passing throughout \|/
      )
    })

    test.each([
      [
        'broken',
        'v2-broken',
        /check "http:\/\/127\.0\.0\.1:18081\/health" failed|health unhealthy/
      ],
      // A crash right as the first health check passes may instead be seen by the settle window.
      ['crash', 'v2-crash', /exited|restarting|restarted|after the checks had passed/]
    ])(
      'a %s v2 fails verification and v1 comes back on its own',
      async (variant, version, reason) => {
        const run = await runAction(inputs({ version, 'build-args': `VARIANT=${variant}` }))
        expect(run.code).toBe(1)
        expect(run.outputs).toMatchObject({
          status: 'rolled-back',
          'rolled-back': 'true',
          version,
          'previous-version': v1
        })
        const error = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
        expect(error).toMatch(reason)
        expect(error).toMatch(/last 20 log lines of vdemo[_-]/)
        expect(error).toContain(`Rolled back to ${v1}`)

        expect(await liveVersions()).toEqual({ api: v1, web: v1, db: v1 })
        expect(stateFile('current_version')).toBe(`${v1}\n`)
        expect(historyOf(run.outputs).slice(0, 2)).toEqual([`rollback ${v1}`, `failed ${version}`])
        expect(historyOf(run.outputs)).toContain(`success ${v1}`)
        expect(logRecords().slice(-2)).toMatchObject([
          { version, status: 'failed' },
          { version: v1, status: 'rollback' }
        ])
        expect(serverTags('api')).toContain(`backup-${v1}`)
        expect(run.summary).toContain('↩ Deploy failed, rolled back')
        expect(run.summary).toMatch(/\| ✖ \| `v2-/)
        expect(run.summary).toMatch(/\| ↩ \| `abcdef0-/)
      }
    )

    test("a compose file the server's compose refuses: the error quotes compose's own words", async () => {
      const run = await runAction(
        inputs({ version: 'v2-refused', 'compose-file': `${FIXTURES}/rejected/docker-compose.yml` })
      )
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': v1 })
      const error = errorOf(run)
      expect(error).toContain('switching to v2-refused failed')
      // Each flavour's own text for the missing env file, from its standard error.
      expect(error).toMatch(REFUSAL[flavour])
      expect(error).toContain(`Rolled back to ${v1}`)
      expect(await liveVersions()).toEqual({ api: v1, web: v1, db: v1 })
    })

    test('no-rollback leaves the failed version in place and says so', async () => {
      const run = await runAction(
        inputs({
          version: 'v3-kept',
          'build-args': 'VARIANT=broken',
          'no-rollback': 'true',
          'healthcheck-timeout': '8'
        })
      )
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({ status: 'failed', 'rolled-back': 'false' })
      expect(run.log).toMatch(
        /::error::.*no-rollback is set: the failed version v3-kept was left in place/
      )
      expect(await liveVersions()).toEqual({
        api: 'v3-kept',
        web: 'v3-kept',
        db: 'ERROR vdemo-db is broken'
      })
      expect(historyOf(run.outputs)[0]).toBe('failed v3-kept')
    })

    test('skip-healthcheck skips the checks and says so', async () => {
      const run = await runAction(inputs({ version: 'v4-unchecked', 'skip-healthcheck': 'true' }))
      expect(run.code).toBe(0)
      expect(run.outputs.status).toBe('success')
      expect(run.log).toMatch(/::warning::health checks skipped \(skip-healthcheck: true\)/)
      expect(run.summary).toContain('health checks skipped')
      expect(run.summary).not.toContain('### Health checks')
      expect(await liveVersions()).toEqual({
        api: 'v4-unchecked',
        web: 'v4-unchecked',
        db: 'v4-unchecked'
      })
    })

    // The build fails before the server is contacted: nothing of compose to test twice.
    if (flavour === 'v2') {
      test('a build error fails before anything reaches the server', async () => {
        const before = serverSnapshot()
        const run = await runAction(
          inputs({
            version: 'v5-unbuildable',
            services: 'api=examples/stack:api.Dockerfile\nbad=__tests__/e2e/fixtures/bad-build',
            'compose-file': '__tests__/e2e/fixtures/bad-build/docker-compose.yml'
          })
        )
        expect(run.code).toBe(1)
        expect(run.outputs.status).toBe('failed')
        expect(run.log).toMatch(
          /::error::building vdemo-bad:v5-unbuildable failed at "COPY does-not-exist \/x": .*does-not-exist/
        )
        expect(serverSnapshot()).toEqual(before)
        expect(run.log).not.toContain('::group::connect')
        expect(run.summary).toMatch(/\| build \| [\d.]+ s \| failed \|/)
      })
    }
  })

  // The settle window and the running-image check belong to the action, not to compose: they
  // run once, on the flavour users have.
  if (flavour === 'v2') {
    describe('a success means the new version runs and stays up', () => {
      const TRUTHFUL = `${FIXTURES}/truthful`
      let good = ''
      beforeAll(async () => {
        good = (stateFile('current_version') ?? '').trim()
        expect(await liveVersions()).toEqual({ api: good, web: good, db: good })
      })

      test('a compose file that pins :latest is refused before any build; the server is unchanged', async () => {
        const before = serverSnapshot()
        const run = await runAction(
          inputs({ version: 't-pinned', 'compose-file': `${TRUTHFUL}/pinned-latest.yml` })
        )
        expect(run.code).toBe(1)
        expect(run.outputs.status).toBe('failed')
        const error = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
        expect(error).toContain(
          'Input "compose-file": pinned-latest.yml: services.api.image "vdemo-api:latest" is pinned to the fixed tag :latest'
        )
        expect(error).toContain('Write: image: vdemo-api:${DEPLOY_VERSION:-latest}')
        expect(run.log).not.toContain('::group::build')
        expect(hasImage(env.runnerDockerHost, `${PROJECT}-web:t-pinned`)).toBe(false)
        expect(serverSnapshot()).toEqual(before)
      })

      test('the same mistake behind a variable is caught by the running-image check and rolled back', async () => {
        const run = await runAction(
          inputs({ version: 't-hidden', 'compose-file': `${TRUTHFUL}/hidden-latest.yml` })
        )
        expect(run.log).toMatch(
          /::warning::services\.api\.image "vdemo-api:\$\{VDEMO_API_TAG:-latest\}" uses \$VDEMO_API_TAG/
        )
        expect(run.code).toBe(1)
        expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': good })
        const error = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
        expect(error).toMatch(
          /vdemo[_-]api[_-]1 \(service api\) runs vdemo-api:latest \([0-9a-f]{12}\), not vdemo-api:t-hidden \([0-9a-f]{12}\): the compose file likely does not use \$\{DEPLOY_VERSION\} for that image/
        )
        expect(error).toContain(`Rolled back to ${good}`)
        expect(await liveVersions()).toEqual({ api: good, web: good, db: good })
        expect(stateFile('current_version')).toBe(`${good}\n`)
        expect(logRecords().filter(r => r.version === 't-hidden')).toEqual([
          expect.objectContaining({ status: 'failed' })
        ])
        expect(historyOf(run.outputs).slice(0, 2)).toEqual([`rollback ${good}`, 'failed t-hidden'])
      })

      test('a version that exits 6 s after its checks passed is rolled back, and the previous one still serves 15 s later', async () => {
        const run = await runAction(
          inputs({
            version: 't-late-crash',
            'build-args': 'VARIANT=late-crash',
            'healthcheck-monitor': '10'
          })
        )
        expect(run.code).toBe(1)
        expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': good })
        const error = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
        expect(error).toMatch(
          // Whichever the window sees first: a container that exited or restarted, or a check that
          // fails because its container just died.
          /version t-late-crash is not healthy: failed \d+ s after the checks had passed \(healthcheck-monitor\): (vdemo[_-]\w+[_-]1 (restarted|is exited|is restarting|started again)|check "(http|tcp):\/\/127\.0\.0\.1:1808[123]\S*" failed)/
        )
        expect(error).toContain(`Rolled back to ${good}`)
        // The checks did pass first: the step saw every check succeed before the window failed.
        expect(run.log).toContain('all checks passed; watching for 10 s (healthcheck-monitor)')
        expect(run.summary).toMatch(
          /\| ✖ \| settle window: 10 s \(healthcheck-monitor\) \| \d+ \| after \d+ s: /
        )
        // The restored version is watched too, and stays.
        expect(run.summary).toMatch(
          /### Health checks after rollback[\s\S]*\| ✔ \| settle window: 10 s \(healthcheck-monitor\) \|/
        )
        expect(await liveVersions()).toEqual({ api: good, web: good, db: good })
        await new Promise(r => setTimeout(r, 15_000))
        expect(await liveVersions()).toEqual({ api: good, web: good, db: good })
        expect(logRecords().filter(r => r.version === 't-late-crash')).toEqual([
          expect.objectContaining({ status: 'failed' })
        ])
      })
    })
  }

  // Pruning (tags, release folders, records) and the first-deploy refusal do not depend on the
  // compose flavour: they run once, on v2.
  if (flavour === 'v2') {
    describe('pruning', () => {
      beforeAll(() => resetServer(env.deployUser))

      test('a first deploy that fails has nothing to roll back to, and says so', async () => {
        const run = await runAction(
          inputs({ version: 'p0', 'build-args': 'VARIANT=crash', 'healthcheck-timeout': '20' })
        )
        expect(run.code).toBe(1)
        expect(run.outputs).toMatchObject({
          status: 'failed',
          'rolled-back': 'false',
          'previous-version': ''
        })
        expect(run.log).toMatch(
          /::error::.*there is no previous version to roll back to \(first deploy\): the failed version was left in place/
        )
        expect(logRecords()).toMatchObject([{ version: 'p0', status: 'failed' }])
      })

      test('after six deploys, exactly what the contract keeps is left', async () => {
        const versions = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']
        for (const version of versions) {
          const run = await runAction(
            inputs({ version, healthchecks: '', 'keep-versions': '3', 'keep-history': '4' })
          )
          expect([version, run.code, run.outputs.status]).toEqual([version, 0, 'success'])
        }
        // Versions: the newest three. Backups: of the successes still in the history (p3..p6;
        // p6 was never backed up since nothing replaced it yet). latest stays.
        for (const service of ['api', 'web', 'db']) {
          expect([service, serverTags(service)]).toEqual([
            service,
            ['backup-p3', 'backup-p4', 'backup-p5', 'latest', 'p4', 'p5', 'p6']
          ])
        }
        expect(logRecords().map(r => r.version)).toEqual(['p3', 'p4', 'p5', 'p6'])
        expect(readdirSync(`${STATE}/releases`).sort()).toEqual(['p3', 'p4', 'p5', 'p6'])
        expect(await liveVersions()).toEqual({ api: 'p6', web: 'p6', db: 'p6' })
      })
    })
  }
}
