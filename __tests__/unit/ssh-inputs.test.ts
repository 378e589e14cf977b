// The SSH inputs beyond host and fingerprint: known-hosts and the jump host (proxy-*).
import type { SshOptions } from '../../src/config/options.js'

import { parseOptions } from '../../src/config/parse.js'
import {
  INPUT_NAMES,
  SECRET_INPUTS,
  type RawInputs,
  type RunContext
} from '../../src/config/inputs.js'

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n'
const PROXY_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nxyz\n-----END OPENSSH PRIVATE KEY-----\n'
const FP = 'SHA256:' + 'A'.repeat(43)
const PROXY_FP = 'SHA256:' + 'P'.repeat(43)
const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIIwz39Ka9ZgrgD1nZ87D9/a16rqia8BYOZdWmZQbtS+N'

function raw(overrides: Partial<RawInputs> = {}): RawInputs {
  const r = Object.fromEntries(INPUT_NAMES.map(n => [n, ''])) as RawInputs
  return { ...r, services: 'api=./api', host: 'example.test', key: KEY, ...overrides }
}

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}

function ssh(overrides: Partial<RawInputs>): SshOptions {
  const o = parseOptions(raw(overrides), ctx).ssh
  if (!o) throw new Error('no SSH options')
  return o
}

describe('known-hosts', () => {
  test('pins the host key without a fingerprint', () => {
    const o = ssh({ 'known-hosts': `# from ssh-keyscan\nexample.test ssh-ed25519 ${ED}\n` })
    expect(o.fingerprints).toEqual([])
    expect(o.knownHosts).toEqual([
      { line: 2, revoked: false, hosts: 'example.test', keyType: 'ssh-ed25519', key: ED }
    ])
  })

  test('a port other than 22 needs the [host]:port form', () => {
    const o = ssh({ port: '2222', 'known-hosts': `[example.test]:2222 ssh-ed25519 ${ED}` })
    expect(o.knownHosts).toHaveLength(1)
  })

  test('may come with a fingerprint; either one accepts the key later', () => {
    const o = ssh({ fingerprint: FP, 'known-hosts': `other.test ssh-ed25519 ${ED}` })
    expect(o).toMatchObject({ fingerprints: [FP], knownHosts: [{ hosts: 'other.test' }] })
  })
})

describe('jump host', () => {
  test('none by default', () => {
    expect(ssh({ fingerprint: FP }).proxy).toBeUndefined()
  })

  test('defaults: port 22, root, the key and passphrase of the target', () => {
    const o = ssh({
      fingerprint: FP,
      passphrase: 'pw',
      'proxy-host': 'bastion.test',
      'proxy-fingerprint': PROXY_FP
    })
    expect(o.proxy).toEqual({
      host: 'bastion.test',
      port: 22,
      username: 'root',
      privateKey: KEY,
      passphrase: 'pw',
      fingerprints: [PROXY_FP]
    })
    expect(o).toMatchObject({ host: 'example.test', fingerprints: [FP] })
  })

  test('every proxy input', () => {
    const o = ssh({
      fingerprint: FP,
      passphrase: 'pw',
      'proxy-host': '[2001:db8::1]',
      'proxy-port': '2200',
      'proxy-username': 'jump',
      'proxy-key': PROXY_KEY,
      'proxy-passphrase': 'proxy-pw',
      'proxy-fingerprint': `${PROXY_FP}\n${FP}`
    })
    expect(o.proxy).toEqual({
      host: '2001:db8::1',
      port: 2200,
      username: 'jump',
      privateKey: PROXY_KEY,
      passphrase: 'proxy-pw',
      fingerprints: [PROXY_FP, FP]
    })
  })

  test('an own key without a passphrase does not borrow the target passphrase', () => {
    const o = ssh({
      fingerprint: FP,
      passphrase: 'pw',
      'proxy-host': 'bastion.test',
      'proxy-key': PROXY_KEY,
      'proxy-fingerprint': PROXY_FP
    })
    expect(o.proxy?.passphrase).toBeUndefined()
  })

  test('known-hosts can pin both hosts', () => {
    const o = ssh({
      'proxy-host': 'bastion.test',
      'known-hosts': `example.test ssh-ed25519 ${ED}\nbastion.test ssh-ed25519 ${ED}`
    })
    expect(o.proxy).toMatchObject({ host: 'bastion.test', fingerprints: [] })
    expect(o.knownHosts).toHaveLength(2)
  })

  test('insecure-skip-host-key-check covers the jump host too', () => {
    const o = ssh({ 'insecure-skip-host-key-check': 'true', 'proxy-host': 'bastion.test' })
    expect(o).toMatchObject({ insecureSkipHostKeyCheck: true, proxy: { fingerprints: [] } })
  })
})

describe('refusals name the input and say what is allowed', () => {
  const kh = (line: string) => ({ 'known-hosts': line })
  test.each<[Partial<RawInputs>, string, RegExp]>([
    [{}, 'fingerprint', /ssh-keyscan -p 22 example\.test .*known-hosts/],
    [{ port: '2222' }, 'fingerprint', /ssh-keyscan -p 2222 example\.test/],
    [kh(`other.test ssh-ed25519 ${ED}`), 'known-hosts', /has no line for example\.test/],
    [
      { port: '2222', ...kh(`example.test ssh-ed25519 ${ED}`) },
      'known-hosts',
      /has no line for \[example\.test\]:2222 .*\[host\]:port/
    ],
    [kh(`@revoked example.test ssh-ed25519 ${ED}`), 'known-hosts', /has no line for example/],
    [kh('example.test ssh-ed25519'), 'known-hosts', /line 1: .*keytype/],
    [{ fingerprint: FP, ...kh(`\n\nexample.test ssh-dsa ${ED}`) }, 'known-hosts', /line 3: /],
    [{ fingerprint: FP, ...kh(`example.test ssh-ed25519 ${ED}\u001b`) }, 'known-hosts', /control/],
    [{ fingerprint: FP, 'proxy-host': 'a;b' }, 'proxy-host', /host name/],
    [{ fingerprint: FP, 'proxy-host': 'b.test', 'proxy-port': '0' }, 'proxy-port', /1 to 65535/],
    [
      { fingerprint: FP, 'proxy-host': 'b.test', 'proxy-username': 'root;id' },
      'proxy-username',
      /user name/
    ],
    [
      { fingerprint: FP, 'proxy-host': 'b.test', 'proxy-key': 'id_rsa' },
      'proxy-key',
      /PRIVATE KEY/
    ],
    [
      { fingerprint: FP, 'proxy-host': 'b.test', 'proxy-fingerprint': 'MD5:aa' },
      'proxy-fingerprint',
      /SHA256/
    ],
    [
      { fingerprint: FP, 'proxy-host': 'b.test' },
      'proxy-fingerprint',
      /required to pin the jump host's host key .*ssh-keyscan -p 22 b\.test/
    ],
    [
      { 'proxy-host': 'b.test', 'proxy-port': '2200', ...kh(`example.test ssh-ed25519 ${ED}`) },
      'known-hosts',
      /no line for \[b\.test\]:2200 \(the jump host's host/
    ],
    [
      { fingerprint: FP, 'proxy-fingerprint': PROXY_FP },
      'proxy-fingerprint',
      /proxy-host is empty/
    ],
    [{ fingerprint: FP, 'proxy-key': PROXY_KEY }, 'proxy-key', /proxy-host is empty/],
    [
      { fingerprint: FP, 'proxy-host': 'b.test', 'proxy-fingerprint': FP, 'proxy-passphrase': 'x' },
      'proxy-passphrase',
      /proxy-key is empty/
    ]
  ])('%j is refused, naming %s', (overrides, input, message) => {
    expect(() => parseOptions(raw(overrides), ctx)).toThrow(
      expect.objectContaining({ input, message: expect.stringMatching(message) })
    )
  })
})

test('the secrets to mask are inputs, and every key and passphrase is one', () => {
  for (const name of SECRET_INPUTS) expect(INPUT_NAMES).toContain(name)
  expect(
    INPUT_NAMES.filter(n => /key$|passphrase$|password$|token$|secrets$/.test(n)).sort()
  ).toEqual([...SECRET_INPUTS].sort())
})
