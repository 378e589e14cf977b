import { jest } from '@jest/globals'
import {
  judgeContainers,
  parseInspect,
  type ContainerState,
  type ExpectedImage
} from '../../src/health/containers.js'
import { waitHealthy, type HealthReport } from '../../src/health/poller.js'
import { settle } from '../../src/health/settle.js'
import type { HealthCheck } from '../../src/config/options.js'

const c = (over: Partial<ContainerState>): ContainerState => ({
  id: 'id',
  name: 'app-api-1',
  status: 'running',
  restartCount: 0,
  exitCode: 0,
  ...over
})

describe('judgeContainers', () => {
  test('running, and healthy where a HEALTHCHECK exists, is ready', () => {
    const v = judgeContainers([c({}), c({ name: 'db', health: 'healthy' })])
    expect(v).toMatchObject({ ready: true, fatal: false, problems: [] })
  })
  test('starting is waited for', () => {
    expect(judgeContainers([c({ health: 'starting' })])).toMatchObject({
      ready: false,
      fatal: false
    })
    expect(judgeContainers([])).toMatchObject({ ready: false, fatal: false })
  })
  test.each<[Partial<ContainerState>, RegExp]>([
    [{ health: 'unhealthy' }, /health unhealthy/],
    [{ status: 'exited', exitCode: 1 }, /exited, exit code 1/],
    [{ status: 'restarting', restartCount: 3 }, /restarted 3×/]
  ])('%j is fatal', (over, problem) => {
    const v = judgeContainers([c({}), c(over)])
    expect(v.ready).toBe(false)
    expect(v.fatal).toBe(true)
    expect(v.problems.join()).toMatch(problem)
  })
  test('parses docker inspect', () => {
    const json = JSON.stringify([
      {
        Id: 'x',
        Name: '/app-web-1',
        RestartCount: 2,
        State: { Status: 'running', Restarting: true, ExitCode: 1, Health: { Status: 'starting' } }
      }
    ])
    expect(parseInspect(json)).toEqual([
      {
        id: 'x',
        name: 'app-web-1',
        status: 'restarting',
        health: 'starting',
        restartCount: 2,
        exitCode: 1
      }
    ])
  })
})

describe('waitHealthy', () => {
  const check: HealthCheck = {
    kind: 'http',
    url: 'http://127.0.0.1/health',
    line: 'http://127.0.0.1/health'
  }

  function clock() {
    let t = 0
    return { now: () => t, sleep: async (ms: number) => void (t += ms) }
  }

  test('passes once containers are ready and every check passed', async () => {
    const answers = [false, false, true]
    const report = await waitHealthy(
      {
        ...clock(),
        containers: async () => [c({})],
        probe: async () => ({ ok: answers.shift() ?? true, detail: 'HTTP 200' })
      },
      [check],
      { timeoutMs: 60000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(true)
    expect(report.checks[0]).toMatchObject({ ok: true, attempts: 3, passedAfterMs: 4000 })
  })

  test('fails at the timeout naming the check and its last answer', async () => {
    const report = await waitHealthy(
      {
        ...clock(),
        containers: async () => [c({})],
        probe: async () => ({ ok: false, detail: 'HTTP 500 boom' })
      },
      [check],
      { timeoutMs: 10000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toBe(
      'not healthy after 10 s: check "http://127.0.0.1/health" failed (last: HTTP 500 boom)'
    )
    expect(report.checks[0]?.attempts).toBe(6)
  })

  test('stops at once when a container crashed', async () => {
    const probe = jest.fn(async () => ({ ok: true, detail: '' }))
    const report = await waitHealthy(
      { ...clock(), containers: async () => [c({ status: 'exited', exitCode: 2 })], probe },
      [check],
      { timeoutMs: 60000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(false)
    expect(report.elapsedMs).toBe(0)
    expect(report.reason).toMatch(/containers failed: app-api-1 is exited/)
    expect(probe).not.toHaveBeenCalled()
  })

  test('a container that turns unhealthy ends the wait, naming the checks that failed too', async () => {
    const states = [[c({ health: 'starting' })], [c({ health: 'unhealthy' })]]
    const report = await waitHealthy(
      {
        ...clock(),
        containers: async () => states.shift() ?? [],
        probe: async () => ({ ok: false, detail: 'HTTP 404 Not Found' })
      },
      [check],
      { timeoutMs: 60000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toBe(
      'containers failed: check "http://127.0.0.1/health" failed (last: HTTP 404 Not Found); app-api-1 is running, health unhealthy'
    )
  })
})

describe('the running images', () => {
  const expected: ExpectedImage[] = [
    { repo: 'app-api', ref: 'app-api:v2', id: 'sha256:2222222222222222' }
  ]
  test('containers on the expected image are ready', () => {
    const on = c({ image: 'sha256:2222222222222222', imageRef: 'app-api:v2', service: 'api' })
    expect(judgeContainers([on, c({ id: 'db', imageRef: 'postgres:16' })], expected)).toMatchObject(
      { ready: true, fatal: false, problems: [] }
    )
  })
  test('a container of the image at another tag is fatal, naming the image it runs and the cause', () => {
    const old = c({
      name: 'app-api-1',
      image: 'sha256:1111111111111111',
      imageRef: 'app-api:latest',
      service: 'api'
    })
    const v = judgeContainers([old], expected)
    expect(v).toMatchObject({ ready: false, fatal: true, notReady: [old] })
    expect(v.problems).toEqual([
      'app-api-1 (service api) runs app-api:latest (111111111111), not app-api:v2 (222222222222): the compose file likely does not use ${DEPLOY_VERSION} for that image (write image: app-api:${DEPLOY_VERSION:-latest})'
    ])
  })
  test('a built image that no container runs is left to the compose check (profiles)', () => {
    const v = judgeContainers(
      [c({ image: 'sha256:9', imageRef: 'other:1', service: 'api' })],
      expected
    )
    expect(v).toMatchObject({ ready: true, fatal: false, problems: [] })
  })
  test('waitHealthy stops at once on a wrong image', async () => {
    const probe = jest.fn(async () => ({ ok: true, detail: '' }))
    const report = await waitHealthy(
      {
        now: () => 0,
        sleep: async () => undefined,
        containers: async () => [c({ image: 'sha256:1', imageRef: 'app-api:latest' })],
        probe
      },
      [],
      { timeoutMs: 60000, intervalMs: 2000 },
      expected
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toMatch(/^containers failed: app-api-1 runs app-api:latest/)
  })
  test('parses image, image reference, service and start time', () => {
    const json = JSON.stringify([
      {
        Id: 'x',
        Image: 'sha256:abc',
        Config: { Image: 'app-api:v2', Labels: { 'com.docker.compose.service': 'api' } },
        State: { Status: 'running', StartedAt: '2026-01-01T00:00:00Z' }
      }
    ])
    expect(parseInspect(json)[0]).toMatchObject({
      image: 'sha256:abc',
      imageRef: 'app-api:v2',
      service: 'api',
      startedAt: '2026-01-01T00:00:00Z'
    })
  })
})

describe('settle (healthcheck-monitor)', () => {
  const check: HealthCheck = { kind: 'tcp', host: '127.0.0.1', port: 1, line: 'tcp://127.0.0.1:1' }
  const up = c({ id: 'a', name: 'app-api-1', startedAt: 't0' })
  const passed = (states: ContainerState[]): HealthReport => ({
    ok: true,
    checks: [],
    containers: judgeContainers(states),
    elapsedMs: 3000,
    states
  })
  function fakeClock() {
    let t = 0
    return { now: () => t, sleep: async (ms: number) => void (t += ms) }
  }

  test('a stack that stays up passes after the whole window, checked every interval', async () => {
    const probe = jest.fn(async () => ({ ok: true, detail: 'ok' }))
    const report = await settle(
      { ...fakeClock(), containers: async () => [up], probe },
      [check],
      [],
      passed([up]),
      { windowMs: 10000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(true)
    expect(report.settle).toEqual({ ok: true, windowMs: 10000, watchedMs: 10000, passes: 5 })
    expect(probe).toHaveBeenCalledTimes(5)
    expect(report.elapsedMs).toBe(13000)
  })

  test('a container that restarts in the window fails it, saying so and when', async () => {
    const states = [[up], [up], [{ ...up, restartCount: 1, exitCode: 1, startedAt: 't6' }]]
    const report = await settle(
      {
        ...fakeClock(),
        containers: async () => states.shift() ?? [],
        probe: async () => ({ ok: true, detail: 'ok' })
      },
      [check],
      [],
      passed([up]),
      { windowMs: 10000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toBe(
      'failed 6 s after the checks had passed (healthcheck-monitor): app-api-1 restarted (1×, exit code 1)'
    )
    expect(report.settle).toMatchObject({ ok: false, passes: 2, watchedMs: 6000 })
    expect(report.containers.notReady.map(n => n.id)).toEqual(['a'])
  })

  test.each<[string, ContainerState[], RegExp]>([
    ['exits', [{ ...up, status: 'exited', exitCode: 6 }], /app-api-1 is exited, exit code 6/],
    ['turns unhealthy', [{ ...up, health: 'unhealthy' }], /health unhealthy/],
    ['is replaced', [c({ id: 'b', name: 'app-api-1' })], /app-api-1 is gone; app-api-1 appeared/],
    ['started again', [{ ...up, startedAt: 't9' }], /app-api-1 started again/]
  ])('a container that %s fails the window', async (_, now, reason) => {
    const report = await settle(
      {
        ...fakeClock(),
        containers: async () => now,
        probe: async () => ({ ok: true, detail: '' })
      },
      [],
      [],
      passed([up]),
      { windowMs: 10000, intervalMs: 2000 }
    )
    expect(report.ok).toBe(false)
    expect(report.reason).toMatch(reason)
  })

  test('a check that fails in the window fails it', async () => {
    const answers = [true, false]
    const report = await settle(
      {
        ...fakeClock(),
        containers: async () => [up],
        probe: async () => ({ ok: answers.shift() ?? true, detail: 'connection refused' })
      },
      [check],
      [],
      passed([up]),
      { windowMs: 10000, intervalMs: 2000 }
    )
    expect(report.reason).toBe(
      'failed 4 s after the checks had passed (healthcheck-monitor): check "tcp://127.0.0.1:1" failed (connection refused)'
    )
  })
})
