import { jest } from '@jest/globals'
import { judgeContainers, parseInspect, type ContainerState } from '../../src/health/containers.js'
import { waitHealthy } from '../../src/health/poller.js'
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
