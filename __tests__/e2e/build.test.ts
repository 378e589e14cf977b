// Building with BuildKit (docker buildx on the runner, the engine's own builder) and without it
// (the legacy builder), end to end: the bundled action builds on the runner's engine and deploys
// to lab host 3 over SSH. Tests run in order; they share the project and its workspace.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  clearBuildCache,
  docker,
  hostFetch,
  nonEmpty,
  readStateFile,
  resetProject,
  type LabHost
} from './sandbox-env.js'
import { env, errorOf, loginTo } from './stack.js'

const PROJECT = 'vbuild'
const HOST = env.hosts[2] as LabHost
const WS = `${env.dir}/ws-${PROJECT}`
const PORT = 18095
const RUN_ENV = { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'b111d000111122223333444455556666aaaabbbb' }
// Random per run, so that finding it anywhere is a leak of this run's secret.
const SECRET = `vd-build-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`

/** Two stages; a cache mount that keeps a file from one build to the next; a secret mount. */
const APP_DOCKERFILE = `FROM scratch AS tools
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM tools AS build
ARG DEPLOY_VERSION
RUN --mount=type=cache,target=/cache,id=vbuild-runs \\
    echo "$DEPLOY_VERSION" >> /cache/runs && mkdir -p /out && cp /cache/runs /out/runs
# A missing secret is no mount at all, not an error: sha256sum then fails the step.
RUN --mount=type=secret,id=token \\
    sha256sum /run/secrets/token > /out/sum && cut -c1-64 /out/sum > /out/token.sha256 && rm /out/sum

FROM tools
COPY --from=build /out/ /www/
ARG DEPLOY_VERSION
RUN echo "$DEPLOY_VERSION" > /www/version
HEALTHCHECK --interval=1s --timeout=2s --retries=30 CMD wget -q -O /dev/null http://127.0.0.1:8080/version || exit 1
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
`

/** What the legacy builder builds too: no BuildKit syntax. */
const PLAIN_DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG DEPLOY_VERSION
RUN mkdir -p /www && echo "$DEPLOY_VERSION" > /www/version
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
`

/**
 * A service that spends 3 s in a RUN step and records when it ran: the kernel's uptime, the same
 * clock for every build on the runner (busybox's date has no fractions of a second).
 */
const SLEEPER = (name: string) => `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG DEPLOY_VERSION
RUN echo "${name} $DEPLOY_VERSION" > /id && cut -d' ' -f1 /proc/uptime > /started && sleep 3 && cut -d' ' -f1 /proc/uptime > /ended
CMD ["sleep", "86400"]
`

const compose = (services: string[]) =>
  `services:\n${services
    .map(
      s => `  ${s}:
    image: ${PROJECT}-${s}:\${DEPLOY_VERSION:-latest}
    restart: unless-stopped
    stop_grace_period: 1s
${s === 'app' ? `    ports: ['127.0.0.1:${PORT}:8080']\n` : ''}`
    )
    .join('')}`

function inputs(overrides: Record<string, string>): Record<string, string> {
  return {
    project: PROJECT,
    services: 'app=app',
    ...loginTo(HOST),
    'deploy-path': `/srv/${PROJECT}`,
    healthchecks: `http://127.0.0.1:${PORT}/version`,
    'healthcheck-interval': '1',
    'healthcheck-timeout': '30',
    'healthcheck-monitor': '1',
    ...overrides
  }
}

const run = (overrides: Record<string, string>, extraEnv: Record<string, string> = {}) =>
  runAction(inputs(overrides), { ...RUN_ENV, ...extraEnv }, { timeoutMs: 300_000 })

const runner = (args: string[]) => docker(env.runnerDockerHost, args)
/** A file of an image on the runner, read by a throw-away container without a network. */
const fileOf = (image: string, file: string) =>
  runner(['run', '--rm', '--network', 'none', '--entrypoint', 'cat', image, file]).trim()
const served = async (p: string) =>
  (await hostFetch(HOST, `http://127.0.0.1:${PORT}${p}`, 5000)).body.trim()
const records = () =>
  nonEmpty(readStateFile(`/srv/${PROJECT}`, 'versions.log', HOST) ?? '').map(l => {
    const r = JSON.parse(l) as { status: string; version: string }
    return `${r.status} ${r.version}`
  })

/** The log without the lines that tell the runner what to mask (where a secret belongs). */
const shownLog = (r: ActionRun) =>
  r.log
    .split('\n')
    .filter(l => !l.startsWith('::add-mask::'))
    .join('\n')

function writeService(name: string, dockerfile: string) {
  mkdirSync(`${WS}/${name}/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${WS}/${name}/bin/busybox`)
  writeFileSync(`${WS}/${name}/Dockerfile`, dockerfile)
}

function reset() {
  resetProject(env, PROJECT, `/srv/${PROJECT}`, HOST)
  rmSync(WS, { recursive: true, force: true })
  // The cache mount's content lives in the runner's BuildKit cache.
  clearBuildCache(env.runnerDockerHost)
}

beforeAll(() => {
  reset()
  writeService('app', APP_DOCKERFILE)
  writeFileSync(`${WS}/docker-compose.yml`, compose(['app']))
})
afterAll(reset)

test('BuildKit: a two-stage Dockerfile with a cache mount and a secret mount deploys; the secret reached the build and is nowhere else', async () => {
  const r = await run({ version: 'b1', 'build-secrets': `token=${SECRET}` })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(r.log).toMatch(/building with BuildKit: docker buildx [\d.]+, builder \S+ \(driver docker/)
  // Each line of a service's build is behind its name.
  expect(r.log).toMatch(/^\[app\] #\d+ /m)
  expect(await served('/version')).toBe('b1')
  // The build read the secret: the image holds its digest, never the value.
  const digest = spawnSync('sha256sum', { input: SECRET, encoding: 'utf8' }).stdout.slice(0, 64)
  expect(await served('/token.sha256')).toBe(digest)
  expect(r.log).toContain(`::add-mask::${SECRET}`)
  const leaks = { log: shownLog(r), summary: r.summary, outputs: JSON.stringify(r.outputs) }
  for (const [where, text] of Object.entries(leaks))
    expect([where, text.includes(SECRET)]).toEqual([where, false])
  // Nor in any layer of the image, on the runner or on the server.
  for (const host of [env.runnerDockerHost, HOST.dockerHost]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'vbuild-save-'))
    try {
      docker(host, ['save', '--output', `${dir}/image.tar`, `${PROJECT}-app:b1`])
      const found = spawnSync(
        'sh',
        ['-c', 'tar -xOf "$1" | grep -c -F -e "$2" || true', 'sh', `${dir}/image.tar`, SECRET],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024
        }
      )
      expect([host, found.stdout.trim()]).toEqual([host, '0'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
})

test("BuildKit: the cache mount holds across deploys (the second build sees the first build's file)", async () => {
  const r = await run({ version: 'b2', 'build-secrets': `token=${SECRET}` })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await served('/version')).toBe('b2')
  expect(await served('/runs')).toBe('b1\nb2')
  expect(fileOf(`${PROJECT}-app:b2`, '/www/runs')).toBe('b1\nb2')
  expect(records()).toEqual(['success b1', 'success b2'])
})

test('BuildKit: a secret the Dockerfile mounts but the job does not give fails the build, before the server is touched', async () => {
  const before = records()
  const r = await run({ version: 'b3' })
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toMatch(/building vbuild-app:b3 failed/)
  expect(r.log).toContain(
    'the Dockerfile of "app" mounts the secret "token", which build-secrets does not give: BuildKit runs that step without it'
  )
  expect(r.log).not.toContain('▶ connect')
  expect(records()).toEqual(before)
  expect(await served('/version')).toBe('b2')
})

test('BuildKit: services build side by side (their RUN steps overlap in time)', async () => {
  const names = ['s1', 's2', 's3']
  for (const n of names) writeService(n, SLEEPER(n))
  writeFileSync(`${WS}/docker-compose.yml`, compose(['app', ...names]))
  try {
    const r = await run({
      version: 'b4',
      'build-secrets': `token=${SECRET}`,
      services: ['app=app', ...names.map(n => `${n}=${n}`)].join('\n')
    })
    expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
    const spans = names.map(n => ({
      started: Number(fileOf(`${PROJECT}-${n}:b4`, '/started')),
      ended: Number(fileOf(`${PROJECT}-${n}:b4`, '/ended'))
    }))
    for (const s of spans) expect(s.ended - s.started).toBeGreaterThanOrEqual(2.9)
    // One after another, each would start after the one before ended.
    const lastStart = Math.max(...spans.map(s => s.started))
    const firstEnd = Math.min(...spans.map(s => s.ended))
    expect(lastStart).toBeLessThan(firstEnd)
    for (const n of names)
      expect(r.log).toMatch(new RegExp(`^\\[${n}\\] built ${PROJECT}-${n}:b4 in [\\d.]+ s$`, 'm'))
    // The summary's build rows: the builder, and each service's time.
    expect(r.summary).toMatch(/### Builds: BuildKit \(builder \S+, driver docker\), side by side/)
    for (const n of ['app', ...names])
      expect(r.summary).toMatch(new RegExp(`^\\| ${n} \\| \\d+\\.\\d s \\|$`, 'm'))
  } finally {
    writeFileSync(`${WS}/docker-compose.yml`, compose(['app']))
  }
})

test("services left empty: the compose file's build: sections are built (a target, args) and deployed", async () => {
  writeFileSync(
    `${WS}/app/Dockerfile.stages`,
    `FROM scratch AS tools
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM tools AS runtime
ARG NOTE
ARG DEPLOY_VERSION
RUN mkdir -p /www && echo runtime > /www/flavor && echo "$NOTE" > /www/note && echo "$DEPLOY_VERSION" > /www/version
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]

FROM runtime AS debug
RUN echo debug > /www/flavor
`
  )
  writeFileSync(
    `${WS}/docker-compose.yml`,
    `services:
  app:
    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}
    build:
      context: ./app
      dockerfile: Dockerfile.stages
      target: runtime
      args:
        NOTE: from-compose
    restart: unless-stopped
    stop_grace_period: 1s
    ports: ['127.0.0.1:${PORT}:8080']
`
  )
  try {
    const r = await run({ version: 'b45', services: '' })
    expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
    expect(r.log).toMatch(
      /\[app\] building vbuild-app:b45 from \S+\/app \(Dockerfile.stages, stage runtime\)/
    )
    expect(await served('/version')).toBe('b45')
    // The last stage is debug: runtime was built because the compose file says so.
    expect(await served('/flavor')).toBe('runtime')
    expect(await served('/note')).toBe('from-compose')
  } finally {
    writeFileSync(`${WS}/docker-compose.yml`, compose(['app']))
  }
})

describe('without docker buildx on the runner (a PATH with no docker program)', () => {
  const noDocker = () => {
    const dir = `${env.dir}/path-without-docker`
    mkdirSync(dir, { recursive: true })
    return { PATH: dir }
  }

  test('a Dockerfile that needs BuildKit is refused before anything is built or touched, saying why', async () => {
    const before = records()
    const serving = await served('/version')
    const r = await run({ version: 'b5', 'build-secrets': '' }, noDocker())
    expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
    expect(errorOf(r)).toMatch(
      /Input "services": the Dockerfile of "app" \(.*Dockerfile, line 7\) uses RUN --mount, which needs BuildKit, and the runner has no docker buildx: install buildx/
    )
    expect(r.log).not.toContain('▶ connect')
    expect(records()).toEqual(before)
    expect(await served('/version')).toBe(serving)
  })

  test('build-secrets without buildx is refused naming the input', async () => {
    const r = await run({ version: 'b6', 'build-secrets': `token=${SECRET}` }, noDocker())
    expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
    expect(errorOf(r)).toMatch(/Input "build-secrets": needs docker buildx on the runner/)
    expect(shownLog(r)).not.toContain(SECRET)
  })

  test("today's Dockerfiles still build with the engine's legacy builder and deploy", async () => {
    writeService(
      'app',
      PLAIN_DOCKERFILE.replace(
        'CMD',
        'HEALTHCHECK --interval=1s CMD wget -q -O /dev/null http://127.0.0.1:8080/version || exit 1\nCMD'
      )
    )
    const r = await run({ version: 'b7' }, noDocker())
    expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
    expect(r.log).toContain(
      "no docker buildx on the runner: the engine's legacy builder builds the images"
    )
    expect(r.log).toMatch(/^\[app\] Step 1\/\d+ : FROM scratch$/m)
    expect(await served('/version')).toBe('b7')
  })
})
