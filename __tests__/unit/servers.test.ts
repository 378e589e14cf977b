// Several servers: the `host` lines and their pins, the order of the switch, and the way back
// when one fails (every switched server goes back; the others keep what they ran), with fake
// servers that answer every command.

import { parseOptions } from '../../src/config/parse.js'
import { parseServers, serverName } from '../../src/config/parse-servers.js'
import type { RunContext } from '../../src/config/inputs.js'
import type { DeployOptions } from '../../src/config/options.js'
import { switchOrder, targetsOf } from '../../src/engine/fleet/targets.js'
import {
  inFlightOn,
  putSwitchedBack,
  recordUntouched,
  switchInOrder
} from '../../src/engine/fleet/fleet-switch.js'
import type { SwitchInFlight } from '../../src/engine/server/in-flight.js'
import { Fleet } from '../../src/engine/fleet/fleet.js'
import type { ServerRun } from '../../src/engine/steps/deploy-steps.js'
import { recoverInterrupted } from '../../src/engine/commands/recover.js'
import { heldLocks } from '../../src/engine/server/session.js'
import { newResult } from '../../src/engine/commands/result.js'
import { Phases, type Log } from '../../src/engine/io.js'
import type { ExecResult, Remote } from '../../src/remote/remote.js'
import type { Argv } from '../../src/remote/commands.js'
import { shJoin } from '../../src/remote/quote.js'
import type { DeployRecord } from '../../src/plan/history.js'
import { FP, raw, refusal } from './raw-inputs.js'
import { fakeRemote } from './fake-remote.js'
import { fakeRun } from './fake-run.js'
import { ganttOf } from '../../src/report/summary.js'
import { planOf } from '../../src/cli/confirm.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}
const FP2 = 'SHA256:' + 'B'.repeat(43)
const FP3 = 'SHA256:' + 'C'.repeat(43)

describe('host: one server a line', () => {
  test('host, host:port, [ipv6]:port and a bare IPv6 address; port is the default port', () => {
    const servers = parseServers('web1\nweb2:2222\n[fd00::1]:2200\nfd00::2\n10.0.0.9', '', 22)
    expect(servers.map(s => [s.host, s.port])).toEqual([
      ['web1', 22],
      ['web2', 2222],
      ['fd00::1', 2200],
      ['fd00::2', 22],
      ['10.0.0.9', 22]
    ])
    expect(servers.map(serverName)).toEqual([
      'web1',
      'web2:2222',
      '[fd00::1]:2200',
      '[fd00::2]',
      '10.0.0.9'
    ])
    expect(parseServers('web1', '', 2022)[0]).toEqual({
      host: 'web1',
      port: 2022,
      fingerprints: []
    })
  })

  test('refused, naming the line: unparsable, a bad port, a server listed twice', () => {
    expect(refusal(() => parseServers('web1\nweb 2', '', 22))).toBe(
      'Input "host": "web 2" is not a host name or IP address, optionally with :port (host, host:port, [ipv6]:port)'
    )
    expect(refusal(() => parseServers('web1:70000', '', 22))).toBe(
      'Input "host": "web1:70000" has a port that is not from 1 to 65535'
    )
    expect(refusal(() => parseServers('web1\nWEB1:22', '', 22))).toBe(
      'Input "host": WEB1 is listed twice'
    )
    expect(refusal(() => parseServers('a:2222\na:2222', '', 22))).toBe(
      'Input "host": a:2222 is listed twice'
    )
  })

  test('fingerprints: plain with one server; named, one line per server, with several', () => {
    expect(parseServers('web1', `${FP}\n${FP2}`, 22)[0]?.fingerprints).toEqual([FP, FP2])
    const servers = parseServers(
      'web1\nweb2:2222',
      `web1 ${FP}\nweb2:2222 ${FP2}\nweb2:2222 ${FP3}`,
      22
    )
    expect(servers.map(s => s.fingerprints)).toEqual([[FP], [FP2, FP3]])
  })

  test('fingerprints refused: a plain one with several servers, one for a server not listed, a malformed one', () => {
    expect(refusal(() => parseServers('web1\nweb2', FP, 22))).toBe(
      `Input "fingerprint": "${FP}" does not say which of the 2 servers it pins: write one "host[:port] SHA256:…" line per server`
    )
    expect(refusal(() => parseServers('web1\nweb2', `web2:2222 ${FP}`, 22))).toBe(
      `Input "fingerprint": "web2:2222 ${FP}" pins web2:2222, which host does not list (web1, web2)`
    )
    expect(refusal(() => parseServers('web1', 'web1 SHA256:short', 22))).toMatch(
      /^Input "fingerprint": "web1 SHA256:short" is not an OpenSSH SHA256 fingerprint/
    )
  })
})

describe('parseOptions with several servers', () => {
  const two = (overrides: Record<string, string> = {}) =>
    parseOptions(
      raw({ host: 'web1\nweb2:2222', fingerprint: `web1 ${FP}\nweb2:2222 ${FP2}`, ...overrides }),
      ctx
    )

  test('every server with its own pins; ssh is the first; targets in the order of host', () => {
    const o = two()
    expect(o.ssh?.host).toBe('web1')
    expect(o.ssh?.fingerprints).toEqual([FP])
    const targets = targetsOf(o)
    expect(targets.map(t => [t.name, t.o.ssh?.host, t.o.ssh?.port, t.o.ssh?.fingerprints])).toEqual(
      [
        ['web1', 'web1', 22, [FP]],
        ['web2:2222', 'web2', 2222, [FP2]]
      ]
    )
    // Each server's options name it alone: nothing run on one server sees the others.
    expect(targets.map(t => targetsOf(t.o).length)).toEqual([1, 1])
    expect(o.maxParallel).toBe(0)
  })

  test('a server without a pin is refused, named; known-hosts may pin each one', () => {
    expect(refusal(() => two({ fingerprint: `web1 ${FP}` }))).toMatch(
      /^Input "fingerprint": is required to pin the server web2:2222's host key \(or give known-hosts\)\. Get it with: ssh-keyscan -p 2222 web2/
    )
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
    const o = two({ fingerprint: '', 'known-hosts': `web1 ${key}\n[web2]:2222 ${key}` })
    expect(targetsOf(o).map(t => t.o.ssh?.fingerprints)).toEqual([[], []])
    expect(
      refusal(() => two({ fingerprint: '', 'known-hosts': `web1 ${key}\nweb2 ${key}` }))
    ).toMatch(/^Input "known-hosts": has no line for \[web2\]:2222 \(the server web2:2222's host; /)
  })

  test('max-parallel: a whole number from 1; swarm takes one manager', () => {
    expect(two({ 'max-parallel': '2' }).maxParallel).toBe(2)
    expect(refusal(() => two({ 'max-parallel': '0' }))).toBe(
      'Input "max-parallel": "0" is not a whole number from 1 to 1000 (empty: every server at once after the first)'
    )
    expect(
      refusal(() => two({ orchestrator: 'swarm', method: 'registry', registry: '127.0.0.1:5000' }))
    ).toBe(
      'Input "host": lists 2 servers, but orchestrator swarm deploys through one manager, which spreads the stack over the nodes: give the manager alone'
    )
  })

  test('one server: as before, named host or host:port', () => {
    const o = parseOptions(raw({ host: 'web1', port: '2222' }), ctx)
    expect(targetsOf(o).map(t => [t.name, t.o === o])).toEqual([['web1:2222', true]])
  })
})

test('the switch order: the first alone, then groups of max-parallel (0: all the others)', () => {
  expect(switchOrder(['a', 'b', 'c', 'd'])).toEqual([['a'], ['b', 'c', 'd']])
  expect(switchOrder(['a', 'b', 'c', 'd'], 2)).toEqual([['a'], ['b', 'c'], ['d']])
  expect(switchOrder(['a', 'b', 'c'], 1)).toEqual([['a'], ['b'], ['c']])
  expect(switchOrder(['a'])).toEqual([['a']])
})

describe('all or nothing: the way back', () => {
  const quiet: Log = { info: () => undefined, warn: () => undefined, group: (_n, fn) => fn() }
  const options = (): DeployOptions => ({
    ...parseOptions(
      raw({
        host: 'a\nb\nc',
        fingerprint: `a ${FP}\nb ${FP}\nc ${FP}`,
        'skip-healthcheck': 'true'
      }),
      ctx
    ),
    deployPath: '/srv/shop',
    project: 'shop',
    version: 'v2'
  })
  const v1: DeployRecord = {
    version: 'v1',
    status: 'success',
    method: 'tar',
    commit: 'abc',
    previous: '',
    started_at: 't0',
    finished_at: 't1',
    services: ['api']
  }

  /** A server that answers every command with exit 0, but `docker compose … up` with `upExit`. */
  function server(upExit = 0) {
    const ran: string[] = []
    const answer = (argv: Argv, stdin = ''): ExecResult => {
      const line = shJoin(argv)
      ran.push(`${line}${stdin ? ` <<< ${stdin}` : ''}`)
      if (line.includes(' up -d')) return { code: upExit, stdout: '', stderr: 'no' }
      return { code: 0, stdout: '', stderr: '' }
    }
    const remote = fakeRemote(answer)
    return { remote, ran }
  }

  function runsOn(remotes: Remote[]): ServerRun[] {
    return targetsOf(options()).map((t, i) =>
      fakeRun({
        name: t.name,
        o: t.o,
        remote: remotes[i] as Remote,
        log: quiet,
        history: [v1],
        startedAt: 't0',
        now: () => new Date('2025-10-11T14:30:52Z')
      })
    )
  }
  /** The statuses of the records appended to versions.log, in order. */
  const appended = (ran: string[]) =>
    ran
      .filter(l => /versions\.log \d+ <<< /.test(l))
      .flatMap(l => l.split(' <<< ')[1]?.trim().split('\n') ?? [])
      .map(l => {
        const r = JSON.parse(l) as DeployRecord
        return `${r.status} ${r.version}`
      })

  test('every switched server goes back to what it ran, ✖ and ↩; one never switched gets ✖ only', async () => {
    const servers = [server(), server(), server()]
    const runs = runsOn(servers.map(s => s.remote))
    runs[0]!.switched = true
    runs[1]!.switched = true
    const result = newResult(options())
    const fleet = Fleet.of(runs, result, new Phases(quiet))
    await recordUntouched(fleet, [runs[2]!], () => undefined)
    await putSwitchedBack(
      fleet,
      { release: runs[0]!.attempt.release, why: 'b: its checks failed', toldByOne: () => 'one' },
      options(),
      result
    )
    fleet.close(10)
    expect(result.status).toBe('rolled-back')
    expect(result.rolledBack).toBe(true)
    expect(result.hosts?.map(h => [h.host, h.status, h.version])).toEqual([
      ['a', 'rolled-back', 'v1'],
      ['b', 'rolled-back', 'v1'],
      ['c', 'not-switched', 'v1']
    ])
    expect(result.hosts?.map(h => h.history?.map(r => `${r.status} ${r.version}`))).toEqual([
      ['rollback v1', 'failed v2', 'success v1'],
      ['rollback v1', 'failed v2', 'success v1'],
      ['failed v2', 'success v1']
    ])
    // The switched servers were put back with v1's images; the one never switched was not touched.
    for (const s of servers.slice(0, 2))
      expect(s.ran.some(l => l.includes('DEPLOY_VERSION=v1 '))).toBe(true)
    expect(servers[2]!.ran.some(l => l.includes(' up -d'))).toBe(false)
    expect(servers.map(s => appended(s.ran))).toEqual([
      ['failed v2', 'rollback v1'],
      ['failed v2', 'rollback v1'],
      ['failed v2']
    ])
    expect(result.failure).toBe(
      'b: its checks failed\nEvery server that was switched is back on the version it ran (a v1, b v1; not verified: skip-healthcheck is set). Never switched: c.'
    )
  })

  test('a server that cannot be reached again is unknown: rollback-failed, the others back', async () => {
    const servers = [server(), server(), server()]
    const runs = runsOn(servers.map(s => s.remote))
    for (const r of runs.slice(0, 2)) r.switched = true
    runs[1]!.s.reconnectIfLost = () =>
      Promise.reject(new Error('the connection was lost and could not be made again (3 tries)'))
    const result = newResult(options())
    const fleet = Fleet.of(runs, result, new Phases(quiet))
    await putSwitchedBack(
      fleet,
      { release: runs[0]!.attempt.release, why: 'b: its checks failed', toldByOne: () => 'one' },
      options(),
      result
    )
    expect(result.status).toBe('rollback-failed')
    expect(result.hosts?.map(h => [h.host, h.status, h.version])).toEqual([
      ['a', 'rolled-back', 'v1'],
      ['b', 'unknown', 'v2'],
      ['c', 'not-switched', 'v1']
    ])
    expect(result.failure).toContain(
      'b: the connection was lost and could not be made again (3 tries). It may run v2 or v1'
    )
    // Nothing was sent to the server that could not be reached.
    expect(servers[1]!.ran).toEqual([])
    // What the post step gets: the unknown server's switch alone.
    const checkpoints = [
      inFlightOn(fleet, fleet.marked('unknown'), {
        version: 'v2',
        previous: 'v1',
        target: 'v1',
        startedAt: 't0'
      })
    ]
    expect(
      checkpoints.map(c => Object.keys((JSON.parse(c) as SwitchInFlight).servers ?? {}))
    ).toEqual([['b']])
    expect(
      inFlightOn(fleet, [], { version: 'v2', previous: 'v1', target: 'v1', startedAt: 't0' })
    ).toBe('')
  })

  /** One server, switched, put back by the fleet's way back; `upExit`: how its `up` ends. */
  async function putBackOne(upExit: number) {
    const one = server(upExit)
    const [run] = runsOn([one.remote])
    run!.switched = true
    const result = newResult(options())
    const phases = new Phases(quiet)
    const fleet = Fleet.of([run!], result, phases)
    await putSwitchedBack(
      fleet,
      {
        release: run!.attempt.release,
        why: 'its checks failed',
        toldByOne: problem => `its checks failed; back: ${problem ?? 'well'}`
      },
      options(),
      result
    )
    fleet.close(10)
    return { result, phases, ran: one.ran, own: run!.s.phases }
  }

  test('one server is a fleet of one: put back, told as one server tells it, no hosts', async () => {
    const { result, phases, ran, own } = await putBackOne(0)
    expect(result.status).toBe('rolled-back')
    expect(result.failure).toBe('its checks failed; back: well')
    expect(result.hosts).toBeUndefined()
    expect(appended(ran)).toEqual(['failed v2', 'rollback v1'])
    // No fleet phase around the way back: the server's own phases are the command's.
    expect(phases.timings.map(t => t.name)).toEqual([])
    expect(own.timings.map(t => t.name)).toEqual(['rollback'])
  })

  test('one server that cannot be put back: rollback-failed, told with why', async () => {
    const { result } = await putBackOne(1)
    expect(result.status).toBe('rollback-failed')
    expect(result.failure).toMatch(/^its checks failed; back: (?!well)/)
    expect(result.hosts).toBeUndefined()
  })

  test('the switch in order: one server has no canary phase and a checkpoint of its own', async () => {
    const checkpoints: string[] = []
    const ports = { checkpoint: (_: string, v: string) => void checkpoints.push(v) }
    const inFlight = { version: 'v2', previous: 'v1', target: 'v1', startedAt: 't0' }
    const cutAll = (r: ServerRun) => {
      r.switched = true
      return Promise.resolve(r.s.name === 'b' ? 'b broke' : undefined)
    }
    const lone = newResult(options())
    const onePhases = new Phases(quiet)
    const [run] = runsOn([server().remote])
    const oneFleet = Fleet.of([run!], lone, onePhases)
    expect(await switchInOrder(oneFleet, options(), inFlight, cutAll, ports, quiet)).toEqual([])
    expect(checkpoints.map(c => JSON.parse(c) as unknown)).toEqual([inFlight])
    expect(onePhases.timings).toEqual([])

    checkpoints.length = 0
    const phases = new Phases(quiet)
    const runs = runsOn([server().remote, server().remote, server().remote])
    const fleet = Fleet.of(runs, newResult(options()), phases)
    const failed = await switchInOrder(fleet, options(), inFlight, cutAll, ports, quiet)
    expect(failed.map(f => `${f.r.s.name}: ${f.why}`)).toEqual(['b: b broke'])
    expect(phases.timings.map(t => t.name)).toEqual(['canary a', 'switch b, c'])
    expect(
      checkpoints.map(c => Object.keys((JSON.parse(c) as SwitchInFlight).servers ?? {}))
    ).toEqual([['a'], ['a', 'b', 'c']])
  })

  test('a server that cannot be put back is named, loudly: rollback-failed', async () => {
    const servers = [server(), server(1), server()]
    const runs = runsOn(servers.map(s => s.remote))
    for (const r of runs) r.switched = true
    const result = newResult(options())
    const fleet = Fleet.of(runs, result, new Phases(quiet))
    await putSwitchedBack(
      fleet,
      { release: runs[0]!.attempt.release, why: 'c: its checks failed', toldByOne: () => 'one' },
      options(),
      result
    )
    expect(result.status).toBe('rollback-failed')
    expect(result.hosts?.map(h => [h.host, h.status])).toEqual([
      ['a', 'rolled-back'],
      ['b', 'rollback-failed'],
      ['c', 'rolled-back']
    ])
    expect(result.failure).toMatch(
      /^c: its checks failed\nPutting the servers back FAILED on 1 of 3:\nb: /
    )
  })
})

describe('the post step of a killed deploy on several servers', () => {
  test('each server gets its own lock back; only the servers whose switch began go back', async () => {
    const o = parseOptions(
      raw({
        host: 'a\nb\nc',
        fingerprint: `a ${FP}\nb ${FP}\nc ${FP}`,
        'skip-healthcheck': 'true'
      }),
      ctx
    )
    const seen: string[] = []
    const connect = (t: DeployOptions): Promise<Remote> => {
      const name = t.ssh?.host ?? ''
      const answer = (argv: Argv): ExecResult => {
        const line = shJoin(argv)
        seen.push(`${name}: ${line}`)
        const stdout = line.includes('compose version')
          ? 'v2'
          : line.includes(`rm -rf`)
            ? 'released'
            : line.includes('touch -c')
              ? 'renewed'
              : ''
        return { code: 0, stdout, stderr: '' }
      }
      return Promise.resolve(fakeRemote(answer))
    }
    const locks = heldLocks(JSON.stringify({ a: 'ta', b: 'tb', c: 'tc' }))
    await recoverInterrupted(
      o,
      connect,
      {
        locks,
        switching: {
          version: 'v2',
          previous: 'v1',
          target: 'v1',
          startedAt: 't0',
          servers: { a: { previous: 'v1', target: 'v1' } }
        }
      },
      { info: () => undefined, warn: () => undefined, group: (_n, fn) => fn() }
    )
    const servers = (pattern: string) =>
      [...new Set(seen.filter(l => l.includes(pattern)).map(l => l.split(':')[0]))].sort()
    expect(servers(' up -d')).toEqual(['a'])
    expect(servers('ta')).toEqual(['a'])
    expect(servers('tb')).toEqual(['b'])
    expect(servers('tc')).toEqual(['c'])
  })
})

describe('where people look', () => {
  test('the gantt chart: a section per server, a task per phase (failed: crit); no colon in a name', () => {
    const chart = ganttOf([
      {
        host: '127.0.0.1:2222',
        previous: 'v1',
        version: 'v2',
        status: 'success',
        phases: [
          { name: 'connect', ms: 300, ok: true, start: 1000 },
          { name: 'verify', ms: 0, ok: false, start: 1300 },
          { name: 'untimed', ms: 5, ok: true }
        ]
      }
    ])
    expect(chart).toBe(
      [
        'gantt',
        '  title Phases per server',
        '  dateFormat x',
        '  axisFormat %M:%S',
        '  section 127.0.0.1 port 2222',
        '  connect :done, 1000, 1300',
        '  verify :crit, 1300, 1301'
      ].join('\n')
    )
    expect(ganttOf([{ host: 'a', previous: '', version: '', status: 'failed', phases: [] }])).toBe(
      ''
    )
  })

  test('the command line asks before it deploys to several servers, naming each, the first first', () => {
    const o = parseOptions(
      raw({ host: 'a\nb:2222', fingerprint: `a ${FP}\nb:2222 ${FP2}`, username: 'deploy' }),
      ctx
    )
    expect(planOf(o).split('\n')[1]).toBe(
      '  host        2 servers, all or none, a first: deploy@a, deploy@b:2222'
    )
  })
})
