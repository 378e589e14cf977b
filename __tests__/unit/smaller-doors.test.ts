// The smaller doors of issue 30 (point 7): a workflow command in what a program printed is never
// run; a health check URL with credentials is refused without showing them; lock-stale-after has
// a floor; proxy-host reads like a host line.

import { jest } from '@jest/globals'
import { inert } from '../../src/action/log.js'
import { parseHealthchecks, parseLockStaleAfter, parseOptions } from '../../src/config/parse.js'
import { raw, refusal } from './raw-inputs.js'

const ctx = { workspace: '/w', sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112', now: new Date() }

describe('the action log', () => {
  function written(message: string): string[] {
    const out: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      out.push(String(chunk))
      return true
    })
    try {
      inert(message)
    } finally {
      spy.mockRestore()
    }
    return out.join('').split('\n').slice(0, -1)
  }

  test('a plain message goes out as it is', () => {
    expect(written('✖ http://127.0.0.1/health: 503')).toEqual(['✖ http://127.0.0.1/health: 503'])
  })

  test('a line that reads as a workflow command is fenced by stop-commands with a token of its own', () => {
    const lines = written('✖ cmd: curl: body\n::add-mask::x\n  ::set-output name=a::b')
    const token = /^::stop-commands::(\S+)$/.exec(lines[0] ?? '')?.[1]
    expect(token).toMatch(/^[0-9a-f-]{36}$/)
    expect(lines.slice(1)).toEqual([
      '✖ cmd: curl: body',
      '::add-mask::x',
      '  ::set-output name=a::b',
      `::${token}::`
    ])
    expect(written('::x::')[0]).not.toBe(lines[0])
  })
})

test('a health check URL with credentials is refused, naming the input, never showing them', () => {
  const why = refusal(() => parseHealthchecks('https://admin:s3cret@127.0.0.1:8443/health'))
  expect(why).toMatch(
    /^Input "healthchecks": "https:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:8443\/health" carries credentials/
  )
  expect(why).not.toContain('s3cret')
  expect(why).not.toContain('admin')
  expect(parseHealthchecks('https://127.0.0.1:8443/health')).toHaveLength(1)
})

test('lock-stale-after: at least three renewals long', () => {
  expect(refusal(() => parseLockStaleAfter('2'))).toBe(
    'Input "lock-stale-after": "2" is below its floor of 3 s: a running deploy renews its lock every 1 s at most, and a lock must be able to miss two renewals before it looks abandoned'
  )
  expect(parseLockStaleAfter('3')).toBe(3000)
  expect(parseLockStaleAfter('300')).toBe(300_000)
})

describe('proxy-host', () => {
  const ssh = (more: Record<string, string>) =>
    parseOptions(
      raw({ 'proxy-host': 'jump.example', 'insecure-skip-host-key-check': 'true', ...more }),
      ctx
    ).ssh?.proxy

  test('host:port and [ipv6]:port read like a host line; alone, the port is proxy-port', () => {
    expect(ssh({ 'proxy-host': 'jump.example:2222' })).toMatchObject({
      host: 'jump.example',
      port: 2222
    })
    expect(ssh({ 'proxy-host': '[fd00::1]:2200' })).toMatchObject({ host: 'fd00::1', port: 2200 })
    expect(ssh({ 'proxy-port': '2022' })).toMatchObject({ host: 'jump.example', port: 2022 })
    expect(ssh({ 'proxy-host': 'jump.example:2222', 'proxy-port': '2222' })).toMatchObject({
      port: 2222
    })
  })

  test('a port in proxy-host that proxy-port contradicts is refused', () => {
    expect(refusal(() => ssh({ 'proxy-host': 'jump.example:2222', 'proxy-port': '22' }))).toBe(
      'Input "proxy-host": "jump.example:2222" names port 2222, and proxy-port says 22: give the jump host\'s port in one of them'
    )
  })
})
