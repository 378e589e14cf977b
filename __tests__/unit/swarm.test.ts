import {
  countedProbe,
  judgeSwarm,
  parseSnapshot,
  serviceStatuses,
  swarmRollingBack,
  vanishedMeanwhile,
  type SwarmService,
  type SwarmSnapshot,
  type SwarmTask,
  type SwarmVerdict
} from '../../src/health/swarm.js'
import { pinImages, swarmIgnoredKeys, swarmVersionProblem } from '../../src/plan/swarm-stack.js'
import { checkComposeImages } from '../../src/plan/compose-images.js'
import { shJoin } from '../../src/remote/quote.js'
import * as cmd from '../../src/remote/commands.js'
import type { Remote } from '../../src/remote/remote.js'
import { stackSnapshot, swarmWatch } from '../../src/engine/stack/swarm.js'
import type { ProbeResult } from '../../src/health/probes.js'
import { waitHealthy } from '../../src/health/poller.js'

const REG = 'ghcr.io/acme'
const V1 = `${REG}/shop-api@sha256:${'1'.repeat(64)}`
const V2 = `${REG}/shop-api@sha256:${'2'.repeat(64)}`
const SINCE = '2026-11-30T10:00:00.000000000Z'
const BEFORE = '2026-11-30T09:00:00Z'
const AFTER = '2026-11-30T10:00:05Z'

const svc = (over: Partial<SwarmService> = {}): SwarmService => ({
  id: 's1',
  name: 'shop_api',
  image: V2,
  replicas: 2,
  oneShot: false,
  ...over
})
let n = 0
const task = (over: Partial<SwarmTask> = {}): SwarmTask => ({
  id: `t${++n}`,
  serviceId: 's1',
  slot: 1,
  nodeId: 'node1',
  createdAt: AFTER,
  desiredState: 'running',
  state: 'running',
  image: V2,
  ...over
})
const snap = (services: SwarmService[], tasks: SwarmTask[]): SwarmSnapshot => ({
  time: AFTER,
  services,
  tasks
})
const judge = (s: SwarmSnapshot, expected: Record<string, string> = { shop_api: V2 }) =>
  judgeSwarm(s, expected, SINCE)

describe('judgeSwarm', () => {
  test('every replica running the pinned image, no update left: ready', () => {
    const v = judge(snap([svc()], [task(), task({ slot: 2 })]))
    expect(v).toMatchObject({ ready: true, fatal: false, problems: [] })
    expect(v.states.map(s => s.name)).toEqual(['shop_api.1', 'shop_api.2'])
  })

  test('fewer replicas, an update in progress, or old tasks still running: waited for', () => {
    expect(judge(snap([svc()], [task()]))).toMatchObject({
      ready: false,
      fatal: false,
      problems: ['shop_api: 1/2 running']
    })
    const updating = svc({ update: { state: 'updating', startedAt: AFTER } })
    expect(judge(snap([updating], [task(), task({ slot: 2 })])).problems).toEqual([
      'shop_api: 2/2 running, update in progress'
    ])
    const old = task({ slot: 2, image: V1 })
    expect(judge(snap([svc()], [task(), old, task({ slot: 2, state: 'starting' })]))).toMatchObject(
      { ready: false, fatal: false }
    )
  })

  test.each<[string, Partial<SwarmService>, RegExp]>([
    [
      'paused',
      { update: { state: 'paused', startedAt: AFTER, message: 'update paused due to failure' } },
      /Swarm paused its update: update paused due to failure/
    ],
    [
      'rollback_paused',
      { update: { state: 'rollback_paused', startedAt: AFTER } },
      /Swarm rollback paused its update/
    ],
    [
      'rolled back by Swarm',
      { image: V1, update: { state: 'rollback_completed', startedAt: AFTER } },
      /Swarm rolled it back by itself to .*1111/
    ],
    ['another image', { image: V1 }, /shop_api runs .*1111.*, not .*2222/]
  ])('%s: fails at once', (_name, over, problem) => {
    const v = judge(snap([svc(over)], [task(), task({ slot: 2 })]))
    expect(v.fatal).toBe(true)
    expect(v.problems.join('\n')).toMatch(problem)
  })

  // The action's own rollback must not interrupt Swarm's: it waits until Swarm is done.
  test('Swarm rolling the update back by itself, or about to: waited for, not fought', () => {
    const rolling = svc({
      image: V1,
      update: {
        state: 'rollback_started',
        startedAt: AFTER,
        message: 'update rolled back due to failure'
      }
    })
    const v = judge(snap([rolling], [task({ image: V1 }), task({ slot: 2 })]))
    expect(v).toMatchObject({ ready: false, fatal: false })
    expect(v.problems).toEqual([
      'shop_api: Swarm is rolling its update back by itself: update rolled back due to failure'
    ])
    expect(v.states.map(s => s.name)).toEqual(['shop_api.1', 'shop_api.2'])

    const failedNow = task({ slot: 2, state: 'failed', desiredState: 'shutdown', exitCode: 137 })
    const updating = (failureAction?: string) =>
      svc({
        update: { state: 'updating', startedAt: AFTER },
        ...(failureAction ? { failureAction } : {})
      })
    const about = judge(snap([updating('rollback')], [task(), failedNow]))
    expect(about).toMatchObject({
      ready: false,
      fatal: false,
      problems: [
        'shop_api: shop_api.2 failed; Swarm rolls the update back by itself (failure_action rollback)'
      ]
    })
    expect(about.notReady.map(s => s.name)).toEqual(['shop_api.2'])
    // Under failure_action pause (the default) or continue, the failed task ends the wait at once.
    for (const action of [undefined, 'pause', 'continue']) {
      expect(judge(snap([updating(action)], [task(), failedNow])).fatal).toBe(true)
    }
    // Once Swarm is done, the rollback is judged as before.
    const done = svc({ image: V1, update: { state: 'rollback_completed', startedAt: AFTER } })
    expect(judge(snap([done], [task({ image: V1 }), task({ slot: 2, image: V1 })])).fatal).toBe(
      true
    )
  })

  test.each<[string, string | undefined, string, boolean, boolean]>([
    ['a rollback in progress', undefined, 'rollback_started', false, true],
    ['a failed task under failure_action rollback', 'rollback', 'updating', true, true],
    ['no failed task yet', 'rollback', 'updating', false, false],
    ['a failed task under failure_action pause', 'pause', 'updating', true, false],
    ['a failed task, failure_action not set (pause)', undefined, 'updating', true, false],
    ['an update Swarm completed', 'rollback', 'completed', true, false],
    ['a rollback Swarm completed', 'rollback', 'rollback_completed', false, false]
  ])('swarmRollingBack: %s', (_name, failureAction, state, taskFailed, rolling) => {
    expect(swarmRollingBack(failureAction ? { failureAction } : {}, state, taskFailed)).toBe(
      rolling
    )
  })

  test('Swarm already rolled a service back to the very image this version pins: not fought', () => {
    const back = svc({ image: V1, update: { state: 'rollback_completed', startedAt: AFTER } })
    const v = judge(snap([back], [task({ image: V1 }), task({ slot: 2, image: V1 })]), {
      shop_api: V1
    })
    expect(v).toMatchObject({ ready: true, fatal: false })
  })

  test('an update or a failed task from before this deploy is not held against it', () => {
    const old = svc({ update: { state: 'paused', startedAt: BEFORE } })
    const failedBefore = task({
      state: 'failed',
      desiredState: 'shutdown',
      createdAt: BEFORE,
      exitCode: 1
    })
    expect(judge(snap([old], [failedBefore, task(), task({ slot: 2 })]))).toMatchObject({
      ready: true,
      fatal: false
    })
    const failedNow = task({
      state: 'failed',
      desiredState: 'shutdown',
      exitCode: 3,
      error: 'task: non-zero exit (3)'
    })
    const v = judge(snap([svc()], [failedNow, task(), task({ slot: 2 })]))
    expect(v.fatal).toBe(true)
    expect(v.problems).toContain('shop_api.1 failed (exit code 3): task: non-zero exit (3)')
  })

  test('a one-shot service: judged by its runs exiting 0, whatever the update monitor says', () => {
    const job = svc({
      id: 'j',
      name: 'shop_migrate',
      replicas: 1,
      oneShot: true,
      update: {
        state: 'paused',
        startedAt: AFTER,
        message: 'update paused due to failure or early termination'
      }
    })
    const expected = { shop_migrate: V2 }
    const run = (state: string, exitCode = 0) =>
      task({ serviceId: 'j', desiredState: 'shutdown', state, exitCode })
    expect(judgeSwarm(snap([job], [run('complete')]), expected, SINCE)).toMatchObject({
      ready: true,
      fatal: false
    })
    expect(judgeSwarm(snap([job], [run('running')]), expected, SINCE)).toMatchObject({
      ready: false,
      fatal: false,
      problems: ['shop_migrate has not run to completion yet']
    })
    expect(judgeSwarm(snap([job], [run('failed', 1)]), expected, SINCE)).toMatchObject({
      fatal: true
    })
    // Its spec unchanged by this deploy, no new run: its newest run counts.
    const earlier = task({
      serviceId: 'j',
      state: 'complete',
      desiredState: 'shutdown',
      createdAt: BEFORE
    })
    expect(judgeSwarm(snap([job], [earlier]), expected, SINCE)).toMatchObject({ ready: true })
    // Its newest run failed: a plain look (status) says so.
    const broken = task({ serviceId: 'j', state: 'failed', desiredState: 'shutdown', exitCode: 2 })
    expect(judgeSwarm(snap([job], [earlier, broken]), expected)).toMatchObject({
      ready: false,
      fatal: true,
      problems: ['shop_migrate.1 failed (exit code 2)']
    })
  })

  test('a plain look (status) judges the current state, not the past', () => {
    const paused = svc({ update: { state: 'paused', startedAt: BEFORE } })
    const failed = task({ state: 'failed', desiredState: 'shutdown', createdAt: BEFORE })
    const v = judgeSwarm(snap([paused], [failed, task(), task({ slot: 2 })]), { shop_api: V2 })
    expect(v.problems).toEqual(['shop_api: Swarm paused its update'])
    expect(judgeSwarm(snap([svc()], [failed, task(), task({ slot: 2 })]), {})).toMatchObject({
      ready: true
    })
  })

  test('a pinned service missing from the stack, or no service at all', () => {
    expect(judge(snap([svc({ name: 'shop_web' })], [task(), task({ slot: 2 })]))).toMatchObject({
      fatal: true,
      problems: ['shop_api is not a service of the stack']
    })
    expect(judge(snap([], []))).toMatchObject({ ready: false, fatal: false })
  })
})

test('parseSnapshot reads the manager time, services and tasks', () => {
  const service = {
    ID: 's1',
    Spec: {
      Name: 'shop_api',
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { Image: V2 }, RestartPolicy: { Condition: 'any' } },
      UpdateConfig: { FailureAction: 'rollback' }
    },
    UpdateStatus: { State: 'completed', StartedAt: AFTER, Message: 'update completed' }
  }
  const job = {
    ID: 'j',
    Spec: { Name: 'shop_migrate', Mode: { ReplicatedJob: {} } },
    UpdateStatus: null
  }
  const t = {
    ID: 't1',
    ServiceID: 's1',
    Slot: 1,
    NodeID: 'node1',
    CreatedAt: AFTER,
    DesiredState: 'running',
    Spec: { ContainerSpec: { Image: V2 } },
    Status: { State: 'running', ContainerStatus: { ExitCode: 0 } }
  }
  const s = parseSnapshot(
    `${SINCE}\nS ${JSON.stringify(service)}\nS ${JSON.stringify(job)}\nT ${JSON.stringify(t)}\n`
  )
  expect(s.time).toBe(SINCE)
  expect(s.services).toEqual([
    {
      id: 's1',
      name: 'shop_api',
      image: V2,
      replicas: 2,
      oneShot: false,
      failureAction: 'rollback',
      update: { state: 'completed', startedAt: AFTER, message: 'update completed' }
    },
    { id: 'j', name: 'shop_migrate', image: '', oneShot: true }
  ])
  expect(s.tasks).toEqual([
    {
      id: 't1',
      serviceId: 's1',
      slot: 1,
      nodeId: 'node1',
      createdAt: AFTER,
      desiredState: 'running',
      state: 'running',
      image: V2,
      exitCode: 0
    }
  ])
})

describe('health checks on a swarm count once the stack has converged', () => {
  const converged = { ready: true, fatal: false, problems: [], notReady: [], states: [] }
  const updating = { ...converged, ready: false, problems: ['shop_api: 0/1 running'] }
  test.each<[string, ProbeResult, SwarmVerdict | undefined, ProbeResult]>([
    [
      'a pass, converged',
      { ok: true, detail: 'HTTP 200' },
      converged,
      { ok: true, detail: 'HTTP 200' }
    ],
    [
      'a pass during the update',
      { ok: true, detail: 'HTTP 200' },
      updating,
      { ok: false, detail: 'HTTP 200, before the stack converged: not counted' }
    ],
    [
      'a pass before any look',
      { ok: true, detail: 'HTTP 200' },
      undefined,
      { ok: false, detail: 'HTTP 200, before the stack converged: not counted' }
    ],
    ['a failure', { ok: false, detail: 'HTTP 404' }, updating, { ok: false, detail: 'HTTP 404' }]
  ])('%s', (_name, result, verdict, counted) => {
    expect(countedProbe(result, verdict)).toEqual(counted)
  })

  // docker stack deploy returns at once; the old task answers until Swarm stops it.
  test('a check answered by the old task during the update does not make the new version healthy', async () => {
    const service = (state: string) =>
      `S ${JSON.stringify({
        ID: 's1',
        Spec: {
          Name: 'shop_api',
          Mode: { Replicated: { Replicas: 1 } },
          TaskTemplate: { ContainerSpec: { Image: V2 } }
        },
        UpdateStatus: { State: state, StartedAt: AFTER }
      })}`
    const taskLine = (id: string, image: string, desired: string) =>
      `T ${JSON.stringify({
        ID: id,
        ServiceID: 's1',
        Slot: 1,
        NodeID: 'node1',
        CreatedAt: id === 'old' ? BEFORE : AFTER,
        DesiredState: desired,
        Spec: { ContainerSpec: { Image: image } },
        Status: { State: 'running' }
      })}`
    // Two looks during the update (the old task still runs), then the new task alone.
    const looks = [
      [service('updating'), taskLine('old', V1, 'shutdown'), taskLine('new', V2, 'running')],
      [service('updating'), taskLine('old', V1, 'shutdown'), taskLine('new', V2, 'running')],
      [service('completed'), taskLine('new', V2, 'running')]
    ]
    const remote: Remote = {
      run: () =>
        Promise.resolve({
          code: 0,
          stdout: [SINCE, ...(looks.length > 1 ? (looks.shift() ?? []) : (looks[0] ?? []))].join(
            '\n'
          ),
          stderr: ''
        }),
      watch: () => Promise.reject(new Error('not here')),
      pipeInto: () => Promise.reject(new Error('not here')),
      converse: () => Promise.reject(new Error('not here')),
      tunnel: () => Promise.reject(new Error('not here')),
      close: () => undefined
    }
    // The old version answers 200 while it runs; the new one has no /health.
    const answers = [true, true]
    const watch = swarmWatch(remote, 'shop', { since: SINCE, images: { shop_api: V2 } })
    let t = 0
    const report = await waitHealthy(
      {
        containers: () => watch.containers(),
        judge: () => watch.judge(),
        probe: watch.counted(async () =>
          answers.shift()
            ? { ok: true, detail: 'HTTP 200 ok' }
            : { ok: false, detail: 'HTTP 404 Not Found' }
        ),
        now: () => t,
        sleep: async ms => void (t += ms)
      },
      [{ kind: 'http', url: 'http://127.0.0.1/health', line: 'http://127.0.0.1/health' }],
      { timeoutMs: 10_000, intervalMs: 1000 }
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toBe(
      'not healthy after 10 s: check "http://127.0.0.1/health" failed (last: HTTP 404 Not Found)'
    )
  })
})

describe('a task Swarm removed between listing and inspecting it', () => {
  test.each<[string, string, boolean]>([
    ['a task gone', 'Error response from daemon: task ss736dxh30hhd4xfbmxixf7z3 not found\n', true],
    ['two tasks gone', 'Error: No such task: abc\nError: No such task: def\n', true],
    ['a service gone', 'Error: no such service: vsw_migrate\n', true],
    [
      'a daemon that does not answer',
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n',
      false
    ],
    [
      'a task gone, and another error',
      'Error response from daemon: task x not found\npermission denied\n',
      false
    ],
    ['no error text', '', false]
  ])('%s: look again = %s', (_name, stderr, again) => {
    expect(vanishedMeanwhile(stderr)).toBe(again)
  })

  /** A manager whose snapshot fails with each of `failures` first, then answers. */
  function manager(failures: string[]) {
    const asked: string[] = []
    const remote: Remote = {
      run: argv => {
        asked.push(shJoin(argv))
        const stderr = failures.shift()
        return Promise.resolve(
          stderr === undefined
            ? { code: 0, stdout: `${SINCE}\n`, stderr: '' }
            : { code: 1, stdout: '', stderr }
        )
      },
      watch: () => Promise.reject(new Error('not here')),
      pipeInto: () => Promise.reject(new Error('not here')),
      converse: () => Promise.reject(new Error('not here')),
      tunnel: () => Promise.reject(new Error('not here')),
      close: () => undefined
    }
    return { remote, asked }
  }

  test('the snapshot is taken again, the same way, until no task vanishes in between', async () => {
    const { remote, asked } = manager([
      'Error response from daemon: task a not found\n',
      'Error response from daemon: task b not found\n'
    ])
    await expect(stackSnapshot(remote, 'shop')).resolves.toEqual({
      time: SINCE,
      services: [],
      tasks: []
    })
    expect(asked).toEqual(Array(3).fill(shJoin(cmd.stackSnapshot('shop'))))
  })

  test('any other failure, or tasks vanishing five times over, fails the look', async () => {
    await expect(stackSnapshot(manager(['permission denied\n']).remote, 'shop')).rejects.toThrow(
      /permission denied/
    )
    const busy = manager(Array(5).fill('Error response from daemon: task a not found\n'))
    await expect(stackSnapshot(busy.remote, 'shop')).rejects.toThrow(/task a not found/)
    expect(busy.asked).toHaveLength(5)
  })
})

test('serviceStatuses: replicas, the version from the history, the node of every task', () => {
  const s = snap([svc()], [task(), task({ slot: 2, nodeId: 'node2', state: 'starting' })])
  const nodes = new Map([
    ['node1', 'web-1'],
    ['node2', 'web-2']
  ])
  expect(serviceStatuses(s, nodes, new Map([[V2, 'v2']]))).toEqual([
    {
      name: 'shop_api',
      replicas: '1/2',
      image: V2,
      version: 'v2',
      tasks: ['shop_api.1 running on web-1', 'shop_api.2 starting on web-2']
    }
  ])
})

const COMPOSE = `services:
  api:
    image: \${DEPLOY_REGISTRY}/shop-api:\${DEPLOY_VERSION:-latest}
    restart: always
    network_mode: host
  migrate:
    image: \${DEPLOY_REGISTRY}/shop-api:\${DEPLOY_VERSION}
  db:
    image: postgres:16
`

describe('a compose file on a swarm', () => {
  test('each built image must come from the registry at DEPLOY_VERSION', () => {
    expect(checkComposeImages(COMPOSE, 'shop', ['api'], REG)).toEqual({
      problems: [],
      warnings: []
    })
    const local = 'services:\n  api:\n    image: shop-api:${DEPLOY_VERSION:-latest}\n'
    expect(checkComposeImages(local, 'shop', ['api'], REG).problems).toEqual([
      'the image ghcr.io/acme/shop-api (service "api" of the services input) is not the image: of any compose service (services.api runs "shop-api:${DEPLOY_VERSION:-latest}"): on a swarm every node pulls it from the registry. Write in the service that runs it: image: ${DEPLOY_REGISTRY}/shop-api:${DEPLOY_VERSION:-latest}'
    ])
    const fixed = 'services:\n  api:\n    image: ghcr.io/acme/shop-api:1.0\n'
    expect(checkComposeImages(fixed, 'shop', ['api'], REG).problems[0]).toMatch(
      /is pinned to the fixed tag :1.0: the swarm would run an old shop-api image/
    )
    // A variable the action cannot resolve is refused on a swarm, not left to a later check.
    const unknown = 'services:\n  api:\n    image: ${REG}/shop-api:${DEPLOY_VERSION}\n'
    expect(checkComposeImages(unknown, 'shop', ['api'], REG).problems).toHaveLength(1)
    // compose (no registry) is unchanged: DEPLOY_REGISTRY is nothing the action sets there.
    expect(checkComposeImages(COMPOSE, 'shop', ['api']).problems).toHaveLength(0)
    expect(checkComposeImages(COMPOSE, 'shop', ['api']).warnings).toHaveLength(2)
  })

  test('keys Swarm ignores are named, with what to write instead', () => {
    expect(swarmIgnoredKeys(COMPOSE)).toEqual([
      'services.api: docker stack deploy ignores restart (use deploy.restart_policy), network_mode (use networks: with an external network (name: host for the host network))'
    ])
  })

  test('pins every service that runs a built image to its pushed digest', () => {
    const pins = pinImages(
      COMPOSE,
      'shop',
      { version: 'v2', services: ['api'], images: { api: V2 } },
      REG
    )
    expect(pins.text).toBe(`services:\n  api:\n    image: ${V2}\n  migrate:\n    image: ${V2}\n`)
    expect(pins.images).toEqual({ shop_api: V2, shop_migrate: V2 })
    expect(() => pinImages(COMPOSE, 'shop', { version: 'v2', services: ['api'] }, REG)).toThrow(
      /no pushed digest is recorded for api of v2/
    )
  })

  // docker stack deploy refuses files whose versions differ (a missing one is the CLI's default):
  // the pins carry the user's `version` exactly as written, or none.
  test.each<[string, string, string]>([
    ['a double-quoted string', 'version: "3.8"\n', 'version: "3.8"\n'],
    ['a single-quoted string', "version: '3'\n", "version: '3'\n"],
    ['a number', 'version: 3.8\n', 'version: 3.8\n'],
    ['a number with a trailing zero, and a comment', 'version: 3.10 # swarm\n', 'version: 3.10\n'],
    ['through an alias', 'x-v: &v "3.8"\nversion: *v\n', 'version: "3.8"\n'],
    ['no version', '', '']
  ])("the pins file repeats the compose file's version: %s", (_name, head, pinned) => {
    const pins = pinImages(
      head + COMPOSE,
      'shop',
      { version: 'v2', services: ['api'], images: { api: V2 } },
      REG
    )
    expect(pins.text).toBe(
      `${pinned}services:\n  api:\n    image: ${V2}\n  migrate:\n    image: ${V2}\n`
    )
  })

  // Every Docker CLI refuses a version that is not a string ("version must be a string"), even in
  // a single file: refused before the build, with the line to write.
  test.each<[string, string, string | undefined]>([
    ['a double-quoted string', 'version: "3.8"\n', undefined],
    ['a single-quoted string', "version: '3'\n", undefined],
    ['a string through an alias', 'x-v: &v "3.8"\nversion: *v\n', undefined],
    ['no version', '', undefined],
    [
      'a number',
      'version: 3.8\n',
      `version: 3.8 is a number; docker stack deploy takes only a quoted version ("version must be a string"). Write: version: '3.8'`
    ],
    [
      'a number with a trailing zero',
      'version: 3.10 # swarm\n',
      `version: 3.10 is a number; docker stack deploy takes only a quoted version ("version must be a string"). Write: version: '3.10'`
    ],
    [
      'a whole number',
      'version: 3\n',
      `version: 3 is a number; docker stack deploy takes only a quoted version ("version must be a string"). Write: version: '3'`
    ],
    [
      'a number through an alias',
      'x-v: &v 3.8\nversion: *v\n',
      `version: 3.8 is a number; docker stack deploy takes only a quoted version ("version must be a string"). Write: version: '3.8'`
    ],
    [
      'a boolean',
      'version: true\n',
      "version: true is a boolean; docker stack deploy takes only a quoted version. Write one (for example version: '3.8') or remove the line"
    ],
    [
      'no value',
      'version:\n',
      "version has no value; docker stack deploy takes only a quoted version. Write one (for example version: '3.8') or remove the line"
    ],
    [
      'a list',
      'version: [3.8]\n',
      "version is not a single value; docker stack deploy takes only a quoted version. Write one (for example version: '3.8') or remove the line"
    ]
  ])('a version docker stack deploy would refuse: %s', (_name, head, problem) => {
    expect(swarmVersionProblem(head + COMPOSE)).toBe(problem)
  })
})

describe('swarm commands, as the server receives them', () => {
  test('stack deploy: a throw-away login, the manager time, both files, the version and registry', () => {
    expect(
      shJoin(
        cmd.stackDeploy({
          project: 'shop',
          files: [
            '/opt/shop/.deploy/releases/v2/docker-compose.yml',
            '/opt/shop/.deploy/releases/v2/swarm-images.yml'
          ],
          version: 'v2',
          registry: 'ghcr.io/acme',
          loginHost: 'ghcr.io',
          username: 'bot'
        })
      )
    ).toBe(`sh -c 'd=$(mktemp -d "\${TMPDIR:-/tmp}/vd-docker-config.XXXXXX") || exit 1
trap '\\''rm -rf "$d"'\\'' EXIT
trap '\\''exit 129'\\'' HUP; trap '\\''exit 130'\\'' INT; trap '\\''exit 143'\\'' TERM
export DOCKER_CONFIG="$d"
project=$1; version=$2; registry=$3; host=$4; user=$5; shift 5
if [ -n "$user" ]; then docker login --username "$user" --password-stdin "$host" >/dev/null 2>"$d/err" || { echo "login to $host failed: $(cat "$d/err")" >&2; exit 3; }; fi
date -u +%Y-%m-%dT%H:%M:%S.%NZ
n=$#; for f in "$@"; do set -- "$@" -c "$f"; done; shift "$n"
DEPLOY_VERSION=$version DEPLOY_REGISTRY=$registry docker stack deploy --with-registry-auth --prune "$@" "$project"' sh shop v2 ghcr.io/acme ghcr.io bot /opt/shop/.deploy/releases/v2/docker-compose.yml /opt/shop/.deploy/releases/v2/swarm-images.yml`)
  })

  test.each<[string, string[], string]>([
    [
      'role',
      cmd.swarmRole(),
      "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'"
    ],
    ['nodes', cmd.swarmNodes(), "docker node ls --format '{{.ID}} {{.Hostname}}'"],
    [
      'read the stored file',
      cmd.readFile(cmd.releaseComposeFile('/opt/shop', 'v2')),
      'cat -- /opt/shop/.deploy/releases/v2/docker-compose.yml'
    ],
    [
      'pins file',
      ['echo', cmd.swarmPinsFile('/opt/shop', 'v2')],
      'echo /opt/shop/.deploy/releases/v2/swarm-images.yml'
    ],
    ['task logs', cmd.taskLogs('abc', 20), 'docker service logs --tail 20 --raw --no-trunc abc'],
    [
      'snapshot',
      cmd.stackSnapshot('shop'),
      `sh -c 'date -u +%Y-%m-%dT%H:%M:%S.%NZ
ids=$(docker service ls -q --filter "label=com.docker.stack.namespace=$1") || exit 1
[ -n "$ids" ] || exit 0
docker service inspect --format '\\''S {{json .}}'\\'' $ids || exit 1
t=$(docker service ps -q --no-trunc $ids) || exit 1
[ -z "$t" ] || docker inspect --type task --format '\\''T {{json .}}'\\'' $t' sh shop`
    ]
  ])('%s', (_name, argv, text) => {
    expect(shJoin(argv)).toBe(text)
  })
})
