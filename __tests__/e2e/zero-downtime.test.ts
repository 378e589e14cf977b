// Start-first services behind the ingress the action drives (ingress: caddy), end to end on lab
// host 2, under a steady load through the ingress from host 1 over the lab's LAN (a fresh
// connection per request, 50 a second, plus a 2 s request started every second). The app (scripts/load/zero-app.mjs) serves its
// version at /version, a 2 s page, and /health unless /srv/vzero-host has `refuse-<version>`.
// Tests run in order; the lab host, its engine and the ingress are shared between them.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  docker,
  hostFetch,
  hostPath,
  nonEmpty,
  readStateFile,
  resetProject,
  type LabHost
} from './sandbox-env.js'
import { env, errorOf, loginTo } from './stack.js'
import { describeLoad, startLoad, type LoadReport } from './load.js'
import { DOCKERFILE, SLOW, zeroCompose } from '../../scripts/load/zero-app.mjs'

const PROJECT = 'vzero'
const OTHER = 'vzero2'
const HOST = env.hosts[1] as LabHost
/** Where the load comes from. */
const CLIENT = env.hosts[0] as LabHost
const MARKERS = `/srv/${PROJECT}-host`
const WS = `${env.dir}/ws-${PROJECT}`
const HTTP_PORT = 18090
const INGRESS = 'versioned-deploy-ingress'
const RUN_ENV = { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'feedface0000111122223333444455556666aaaa' }

/** The stack of `project`, routed for `host`; `order` start-first unless told; vzero has a worker. */
const compose = (
  project: string,
  host: string,
  order = 'start-first',
  more: { port?: number; routed?: boolean } = {}
) => zeroCompose({ project, host, markers: MARKERS, order, worker: project === PROJECT, ...more })

function inputs(overrides: Record<string, string>): Record<string, string> {
  return {
    project: PROJECT,
    services: 'web=web',
    ...loginTo(HOST),
    'deploy-path': `/srv/${PROJECT}`,
    ingress: 'caddy',
    'ingress-image': 'vd-caddy:2',
    'ingress-http-port': String(HTTP_PORT),
    'ingress-https-port': '0',
    'drain-timeout': '10',
    healthchecks: `cmd:curl -fsS -m 3 -H 'Host: zero.test' http://127.0.0.1:${HTTP_PORT}/health`,
    'healthcheck-interval': '1',
    'healthcheck-timeout': '8',
    'healthcheck-monitor': '2',
    'keep-versions': '10',
    ...overrides
  }
}

const run = (overrides: Record<string, string>) =>
  runAction(inputs(overrides), RUN_ENV, { timeoutMs: 240_000 })

/** Runs the action while the load runs through the ingress; returns both reports. */
async function underLoad(
  overrides: Record<string, string>
): Promise<{ r: ActionRun; load: LoadReport }> {
  const { result, load } = await withLoad(() => run(overrides))
  return { r: result, load }
}

/** Runs `body` while the load runs through the ingress; returns what it gave and the report. */
async function withLoad<T>(
  body: () => Promise<T>,
  host = 'zero.test'
): Promise<{ result: T; load: LoadReport }> {
  // From host 1, over the lab's LAN: the clients of a server are other machines.
  const load = await startLoad(CLIENT, {
    url: `http://${HOST.lanAddress}:${HTTP_PORT}`,
    host,
    path: '/version',
    rate: 50,
    slowPath: '/cgi-bin/slow',
    // busybox's CGI answers are not framed: a cut one would end early, without this text.
    slowExpect: 'slow',
    slowEveryMs: 1000
  })
  try {
    const result = await body()
    // The last requests reach what now serves, so the timeline ends on it.
    await new Promise(res => setTimeout(res, 1000))
    return { result, load: await load.stop() }
  } finally {
    await load.stop()
  }
}

const current = () => readStateFile(`/srv/${PROJECT}`, 'current_version', HOST)?.trim() ?? ''
const records = () =>
  nonEmpty(readStateFile(`/srv/${PROJECT}`, 'versions.log', HOST) ?? '').map(l => {
    const r = JSON.parse(l) as { status: string; version: string }
    return `${r.status} ${r.version}`
  })
const on = (args: string[]) => docker(HOST.dockerHost, args).trim()
/** The containers of a service of vzero (`web` unless told): name, image tag and state, sorted. */
const webContainers = (service = 'web') =>
  nonEmpty(
    on([
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
      '--format',
      '{{.Names}} {{.Image}} {{.State}}'
    ])
  ).sort()
const through = async (host: string, path = '/version') =>
  (await hostFetch(HOST, `http://127.0.0.1:${HTTP_PORT}${path}`, 5000, { Host: host })).body.trim()
/** The ingress's routes, as its admin API lists them (from inside its container). */
const routes = () =>
  JSON.parse(
    on([
      'exec',
      INGRESS,
      'wget',
      '-q',
      '-O-',
      'http://127.0.0.1:2019/config/apps/http/servers/versioned-deploy/routes'
    ])
  ) as { '@id': string; handle: { upstreams: { dial: string }[] }[] }[]
const upstreamsOf = (id: string) =>
  routes()
    .find(r => r['@id'] === id)
    ?.handle[0]?.upstreams.map(u => u.dial)
/** The versions that answered, in order, without repeats. */
const timeline = (load: LoadReport) => load.answers.map(a => a.body)

function expectNoLoss(load: LoadReport) {
  const what = describeLoad(load)
  console.log(`${expect.getState().currentTestName ?? ''}: ${what}`)
  if (load.failed > 0) console.log(JSON.stringify(load.failures))
  expect([load.failed, load.slow.cut, what]).toEqual([0, 0, what])
  expect(load.requests).toBeGreaterThan(100)
  expect(load.slow.completed).toBeGreaterThan(3)
  // The target: never a second without an answer.
  expect(load.longestGapMs).toBeLessThan(1000)
}

function reset() {
  for (const project of [PROJECT, OTHER]) resetProject(env, project, `/srv/${project}`, HOST)
  spawnSafe(['rm', '-f', INGRESS])
  spawnSafe(['volume', 'rm', `${INGRESS}-data`, `${INGRESS}-config`])
  rmSync(hostPath(HOST, MARKERS), { recursive: true, force: true })
  mkdirSync(hostPath(HOST, MARKERS), { recursive: true })
  rmSync(WS, { recursive: true, force: true })
}

function spawnSafe(args: string[]) {
  try {
    on(args)
  } catch {
    // already gone
  }
}

beforeAll(() => {
  reset()
  mkdirSync(`${WS}/web/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${WS}/web/bin/busybox`)
  writeFileSync(`${WS}/web/Dockerfile`, DOCKERFILE)
  writeFileSync(`${WS}/web/slow`, SLOW, { mode: 0o755 })
  writeFileSync(`${WS}/docker-compose.yml`, compose(PROJECT, 'zero.test'))
})
afterAll(reset)

test('a first deploy starts the ingress on the server and routes the host name to the service', async () => {
  const r = await run({ version: 'z1' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await through('zero.test')).toBe('z1')
  expect(on(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}', INGRESS])).toBe(
    'unless-stopped'
  )
  expect(upstreamsOf(`vd.${PROJECT}.web`)).toEqual([`${PROJECT}-web-1:8080`])
  expect(webContainers()).toEqual([`${PROJECT}-web-1 ${PROJECT}-web:z1 running`])
  expect(webContainers('worker')).toEqual([`${PROJECT}-worker-1 ${PROJECT}-web:z1 running`])
})

test('a redeploy under load drops no request and cuts no request in flight', async () => {
  const { r, load } = await underLoad({ version: 'z2' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expectNoLoss(load)
  expect(timeline(load)).toEqual(['z1', 'z2'])
  // One set of containers, on z2, and the route names it alone.
  const [web] = webContainers()
  expect(webContainers()).toEqual([
    expect.stringMatching(new RegExp(` ${PROJECT}-web:z2 running$`))
  ])
  expect(upstreamsOf(`vd.${PROJECT}.web`)).toEqual([`${web?.split(' ')[0]}:8080`])
  expect(upstreamsOf(`vd-drain.${PROJECT}.web`)).toBeUndefined()
  // The worker (start-first, no route): a new container started before the old one went.
  expect(webContainers('worker')).toEqual([`${PROJECT}-worker-2 ${PROJECT}-web:z2 running`])
  expect(r.log).toContain('worker: start-first, 1 new container(s) beside vzero-worker-1')
  expect(r.log).toMatch(/web: route moved to vzero-web-\d+; the old containers drained in \d+ ms/)
  // The summary says how the service was switched: its old and new containers, route and drain.
  expect(r.summary).toContain('### Services switched')
  expect(r.summary).toContain(
    `| worker | start-first | ${PROJECT}-worker-1 | ${PROJECT}-worker-2 | — | — |`
  )
  expect(r.summary).toMatch(
    new RegExp(
      `\\| web \\| start-first \\| ${PROJECT}-web-1 \\| ${web?.split(' ')[0]} \\| \\d{4}-\\d\\d-\\d\\d [\\d:]+ UTC \\| \\d+\\.\\d s \\|`
    )
  )
})

test('a version that fails its checks after the route moved is rolled back under load without a gap', async () => {
  writeFileSync(hostPath(HOST, `${MARKERS}/refuse-z3`), '')
  const { r, load } = await underLoad({ version: 'z3' })
  expect([r.code, r.outputs.status, r.outputs['rolled-back']]).toEqual([1, 'rolled-back', 'true'])
  expectNoLoss(load)
  expect(timeline(load)).toEqual(['z2', 'z3', 'z2'])
  expect(current()).toBe('z2')
  expect(records()).toEqual(['success z1', 'success z2', 'failed z3', 'rollback z2'])
  expect(r.summary).toContain('### Services switched back (rollback)')
  expect(webContainers()).toEqual([
    expect.stringMatching(new RegExp(` ${PROJECT}-web:z2 running$`))
  ])
  expect(await through('zero.test')).toBe('z2')
})

test('a rollback by name under load drops no request, even from a job that left out the ingress input', async () => {
  // A rollback job written without `ingress`: the server's ingress routes the project, so the
  // switch still moves the route (instead of leaving it on removed containers) and says so.
  const { r, load } = await underLoad({ command: 'rollback', version: 'z1', ingress: 'none' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(r.log).toContain(
    `ingress is none, but the server's ingress routes ${PROJECT} (web): the switch moves those routes`
  )
  expectNoLoss(load)
  expect(timeline(load)).toEqual(['z2', 'z1'])
  expect(current()).toBe('z1')
  expect(webContainers()).toEqual([
    expect.stringMatching(new RegExp(` ${PROJECT}-web:z1 running$`))
  ])
})

test('a job cancelled after the route moved: the post step moves it back under load without a gap', async () => {
  const { result, load } = await withLoad(async () => {
    const main = await runAction(inputs({ version: 'z6' }), RUN_ENV, {
      timeoutMs: 240_000,
      killWhen: log => log.includes('::group::verify')
    })
    const post = await runAction(inputs({ version: 'z6' }), RUN_ENV, {
      timeoutMs: 240_000,
      state: main.state
    })
    return { main, post }
  })
  expect(result.main.code).not.toBe(0)
  expect(result.main.log).toContain('cancelled (SIGTERM)')
  expect([result.post.code, errorOf(result.post)]).toEqual([0, ''])
  expect(result.post.log).toContain('the deploy of z6 was interrupted before it was verified')
  expectNoLoss(load)
  expect(timeline(load)).toEqual(['z1', 'z6', 'z1'])
  expect(current()).toBe('z1')
  expect(records().slice(-2)).toEqual(['failed z6', 'rollback z1'])
  expect(webContainers()).toEqual([
    expect.stringMatching(new RegExp(` ${PROJECT}-web:z1 running$`))
  ])
})

test('new containers that never get ready are removed before the route moves: the old ones keep serving', async () => {
  // Its route's own check fails: /health is what the route checks in this version's file.
  writeFileSync(hostPath(HOST, `${MARKERS}/refuse-z4`), '')
  writeFileSync(
    `${WS}/docker-compose.yml`,
    compose(PROJECT, 'zero.test').replace('healthcheck: /version', 'healthcheck: /health')
  )
  const before = webContainers()
  const { r, load } = await underLoad({ version: 'z4', 'healthcheck-timeout': '4' })
  writeFileSync(`${WS}/docker-compose.yml`, compose(PROJECT, 'zero.test'))
  expect([r.code, r.outputs.status]).toEqual([1, 'rolled-back'])
  expect(errorOf(r)).toContain('web: the new containers did not become ready')
  expect(errorOf(r)).toContain('kept serving')
  expectNoLoss(load)
  expect(timeline(load)).toEqual(['z1'])
  expect(webContainers()).toEqual(before)
  expect(records().slice(-2)).toEqual(['failed z4', 'rollback z1'])
})

test('two projects share the ingress, each changing only its own routes', async () => {
  const mine = routes().find(r => r['@id'] === `vd.${PROJECT}.web`)
  const other = `${WS}-other`
  rmSync(other, { recursive: true, force: true })
  mkdirSync(other, { recursive: true })
  writeFileSync(`${other}/docker-compose.yml`, compose(OTHER, 'other.test'))
  const r = await runAction(
    inputs({
      project: OTHER,
      'deploy-path': `/srv/${OTHER}`,
      services: `web=${WS}/web`,
      'compose-file': `${other}/docker-compose.yml`,
      version: 'o1',
      healthchecks: `cmd:curl -fsS -m 3 -H 'Host: other.test' http://127.0.0.1:${HTTP_PORT}/version`
    }),
    RUN_ENV,
    { timeoutMs: 240_000 }
  )
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await through('other.test')).toBe('o1')
  expect(await through('zero.test')).toBe('z1')
  expect(routes().find(r => r['@id'] === `vd.${PROJECT}.web`)).toEqual(mine)
  expect(nonEmpty(on(['ps', '--filter', `name=^${INGRESS}$`, '--format', '{{.Names}}']))).toEqual([
    INGRESS
  ])
})

/** Deploys the second project with `composeText`, checked through `host`. */
function deployOther(
  version: string,
  composeText: string,
  host = 'other.test',
  more: Record<string, string> = {}
) {
  const other = `${WS}-other`
  writeFileSync(`${other}/docker-compose.yml`, composeText)
  return runAction(
    inputs({
      project: OTHER,
      'deploy-path': `/srv/${OTHER}`,
      services: `web=${WS}/web`,
      'compose-file': `${other}/docker-compose.yml`,
      version,
      healthchecks: `cmd:curl -fsS -m 3 -H 'Host: ${host}' http://127.0.0.1:${HTTP_PORT}/version`,
      ...more
    }),
    RUN_ENV,
    { timeoutMs: 240_000 }
  )
}

test('a redeploy that moves the route to another port drains the old containers at the port they served on', async () => {
  writeFileSync(
    `${WS}/docker-compose.yml`,
    compose(PROJECT, 'zero.test', 'start-first', { port: 8081 })
  )
  try {
    const { r, load } = await underLoad({ version: 'zp1' })
    expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
    expectNoLoss(load)
    expect(upstreamsOf(`vd.${PROJECT}.web`)?.every(u => u.endsWith(':8081'))).toBe(true)
    // And back to 8080: the containers routed on 8081 are drained there.
    writeFileSync(`${WS}/docker-compose.yml`, compose(PROJECT, 'zero.test'))
    const back = await underLoad({ version: 'zp2' })
    expect([back.r.code, back.r.outputs.status]).toEqual([0, 'success'])
    expectNoLoss(back.load)
    expect(upstreamsOf(`vd.${PROJECT}.web`)?.every(u => u.endsWith(':8080'))).toBe(true)
  } finally {
    writeFileSync(`${WS}/docker-compose.yml`, compose(PROJECT, 'zero.test'))
  }
})

test('a host name another project routes is refused before the switch, naming both projects', async () => {
  const before = routes()
  const containers = nonEmpty(
    on(['ps', '-q', '--filter', `label=com.docker.compose.project=${OTHER}`])
  )
  const r = await deployOther('o2', compose(OTHER, 'zero.test'), 'zero.test')
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toContain(
    `zero.test is routed by project "${PROJECT}" (service web): project "${OTHER}" (service web) cannot take it`
  )
  expect(r.log).not.toContain('::group::switch')
  expect(routes()).toEqual(before)
  expect(
    nonEmpty(on(['ps', '-q', '--filter', `label=com.docker.compose.project=${OTHER}`]))
  ).toEqual(containers)
  expect(await through('zero.test')).toBe('zp2')
  expect(await through('other.test')).toBe('o1')
})

test('a project whose compose file routes nothing any more has its routes removed; the other keeps its own', async () => {
  // Nothing to route: the job says so (ingress: caddy with no route is refused as a mistake).
  const r = await deployOther(
    'o3',
    compose(OTHER, 'other.test', 'stop-first', { routed: false }),
    'zero.test',
    { ingress: 'none' }
  )
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(r.log).toContain('removed the routes of web: the compose file routes nothing now')
  expect(routes().map(x => x['@id'])).not.toContain(`vd.${OTHER}.web`)
  expect(await through('zero.test')).toBe('zp2')
  // Routed again, for the tests that follow.
  const again = await deployOther('o4', compose(OTHER, 'other.test'))
  expect([again.code, again.outputs.status]).toEqual([0, 'success'])
  expect(await through('other.test')).toBe('o4')
})

/** The networks the ingress is on, sorted. */
const ingressNetworks = () =>
  nonEmpty(
    on([
      'inspect',
      '--format',
      '{{range $n, $_ := .NetworkSettings.Networks}}{{println $n}}{{end}}',
      INGRESS
    ])
  ).sort()

/**
 * What a container on `network` (a plain `docker run`, not the action's) gets when it speaks
 * HTTP to each of the ingress's addresses at `port`: the first line of each answer ('' for none),
 * in no particular order (the addresses are tried at once).
 */
function answersFrom(network: string, port: number, path: string): string[] {
  const addresses = nonEmpty(
    on([
      'inspect',
      '--format',
      '{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}',
      INGRESS
    ])
  )
  const script =
    'for a; do (l=$(printf "GET $P HTTP/1.0\r\nHost: 127.0.0.1:$PORT\r\n\r\n" | nc -w 3 "$a" "$PORT" 2>/dev/null | head -n 1 | tr -d "\r"); echo "$l|$a") & done; wait'
  const out = on([
    'run',
    '--rm',
    '--network',
    network,
    '--env',
    `P=${path}`,
    '--env',
    `PORT=${port}`,
    '--entrypoint',
    'sh',
    'vd-caddy:2',
    '-c',
    script,
    'sh',
    ...addresses
  ])
  expect(nonEmpty(out)).toHaveLength(addresses.length)
  return nonEmpty(out).map(l => l.split('|')[0] ?? '')
}

/**
 * Nothing answers on the admin port from an app's network or from the default bridge, where the
 * ingress's HTTP port does answer (the probe works); inside the ingress, nothing listens beyond
 * its loopback but the HTTP port.
 */
function expectAdminClosed(appNetwork: string) {
  for (const network of [appNetwork, 'bridge']) {
    expect(answersFrom(network, 2019, '/config/').filter(a => a !== '')).toEqual([])
  }
  expect(answersFrom(appNetwork, 80, '/').some(a => a.startsWith('HTTP/1.'))).toBe(true)
  const listening = nonEmpty(on(['exec', INGRESS, 'netstat', '-ltn']))
    .filter(l => l.startsWith('tcp'))
    .map(l => l.split(/\s+/)[3] ?? '')
  expect(listening.length).toBeGreaterThan(0)
  // 127.0.0.11 is the engine's DNS server of the container's networks, on its loopback too.
  expect(listening.filter(a => !a.startsWith('127.') && !/:(80|443)$/.test(a))).toEqual([])
}

test("no container reaches the ingress's admin API, and the ingress is on no network no route needs", () => {
  expectAdminClosed(`${PROJECT}_default`)
  expect(ingressNetworks()).toEqual([`${PROJECT}_default`, `${OTHER}_default`, INGRESS].sort())
  // The admin API still answers the action, inside the container.
  expect(routes().map(r => r['@id'])).toEqual(
    expect.arrayContaining([`vd.${PROJECT}.web`, `vd.${OTHER}.web`])
  )
})

test('an ingress an earlier release started (admin API on every address, default bridge) has its admin API closed by the next deploy, without a dropped request', async () => {
  const config = {
    admin: { listen: '0.0.0.0:2019' },
    apps: {
      http: {
        servers: {
          'versioned-deploy': {
            listen: [':80'],
            routes: routes(),
            automatic_https: { disable: true }
          }
        }
      }
    }
  }
  on(['rm', '-f', INGRESS])
  // As 0.x ran it: the admin API published on the server's loopback, on the default bridge.
  on([
    'run',
    '--detach',
    '--name',
    INGRESS,
    '--restart',
    'unless-stopped',
    '--label',
    'versioned-deploy.ingress=caddy',
    '--publish',
    `${HTTP_PORT}:80`,
    '--publish',
    '127.0.0.1:2019:2019',
    '--volume',
    `${INGRESS}-data:/data`,
    '--volume',
    `${INGRESS}-config:/config`,
    '--env',
    `VD_INGRESS_CONFIG=${JSON.stringify(config)}`,
    '--entrypoint',
    'sh',
    'vd-caddy:2',
    '-c',
    'printf "%s" "$VD_INGRESS_CONFIG" > /config/versioned-deploy.json && exec caddy run --config /config/versioned-deploy.json'
  ])
  for (const project of [PROJECT, OTHER]) on(['network', 'connect', `${project}_default`, INGRESS])
  // The hole, as it was: a plain container on the default bridge reads every project's routes.
  let open: string[] = []
  for (let i = 0; i < 20 && !open.some(a => a.startsWith('HTTP/1.0 200')); i++) {
    await new Promise(res => setTimeout(res, 200))
    open = answersFrom('bridge', 2019, '/config/').filter(a => a !== '')
  }
  expect(open).toEqual(['HTTP/1.0 200 OK'])

  const { r, load } = await underLoad({ version: 'z7' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expectNoLoss(load)
  expect(r.log).toMatch(/the ingress's admin API listened on 0\.0\.0\.0:2019/)
  // Its published ports hang on the bridge: it stays there (leaving would cut requests) and says how to move.
  expect(r.log).toMatch(/started by an earlier release on the default bridge network/)
  expectAdminClosed(`${PROJECT}_default`)
  expect(ingressNetworks()).toEqual(['bridge', `${PROJECT}_default`, `${OTHER}_default`].sort())
  expect(await through('zero.test')).toBe('z7')
  expect(await through('other.test')).toBe('o4')

  // Made again, as the warning says: on its own network, with every project's routes and networks.
  on(['rm', '-f', INGRESS])
  const again = await run({ version: 'z8' })
  expect([again.code, again.outputs.status, errorOf(again)]).toEqual([0, 'success', ''])
  expect(again.log).not.toMatch(/earlier release/)
  expectAdminClosed(`${PROJECT}_default`)
  expect(ingressNetworks()).toEqual([`${PROJECT}_default`, `${OTHER}_default`, INGRESS].sort())
  expect(await through('zero.test')).toBe('z8')
  expect(await through('other.test')).toBe('o4')
})

test('bad input is refused before any build, naming the service, and the server is unchanged', async () => {
  const good = compose(PROJECT, 'zero.test')
  const snapshot = () => ({
    containers: on(['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.State}}']),
    routes: routes(),
    state: [current(), ...records()]
  })
  const before = snapshot()
  const cases: [string, Record<string, string>, string][] = [
    [
      good.replace('    volumes:', "    ports: ['127.0.0.1:18091:8080']\n    volumes:"),
      {},
      'service "web" is start-first but publishes host ports (ports:)'
    ],
    [
      good.replace('    volumes:', '    container_name: zero-web\n    volumes:'),
      {},
      'service "web" is start-first but sets container_name'
    ],
    [
      good.replace('      versioned-deploy.ingress.port: "8080"\n', ''),
      {},
      'service "web" has versioned-deploy.ingress.host but no versioned-deploy.ingress.port'
    ],
    [
      good.replace('host: zero.test', 'host: zero_test!'),
      {},
      'service "web": "zero_test!" in versioned-deploy.ingress.host is not a valid host name'
    ],
    [
      good.replace(/ {6}versioned-deploy\.ingress\..*\n/g, '').replace('    labels:\n', ''),
      {},
      'Input "ingress": is caddy, but no service of docker-compose.yml has a route'
    ],
    [good, { 'ingress-http-port': 'eighty' }, 'Input "ingress-http-port": "eighty" is not a port']
  ]
  try {
    for (const [text, overrides, message] of cases) {
      writeFileSync(`${WS}/docker-compose.yml`, text)
      const r = await run({ version: 'zbad', ...overrides })
      expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
      expect(errorOf(r)).toContain(message)
      expect(r.log).not.toContain('▶ build')
      expect(snapshot()).toEqual(before)
    }
  } finally {
    writeFileSync(`${WS}/docker-compose.yml`, good)
  }
})

test('the same load against a stop-first switch sees the gap (the control)', async () => {
  writeFileSync(`${WS}/docker-compose.yml`, compose(PROJECT, 'zero.test', 'stop-first'))
  const { r, load } = await underLoad({ version: 'z5' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(load.failed + load.slow.cut).toBeGreaterThan(0)
  console.log(`stop-first control: ${describeLoad(load)}`)
  expect(await through('zero.test')).toBe('z5')
})
