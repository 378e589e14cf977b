// known-hosts parsing and matching, and the host key decision built on it. The keys and the
// hashed names below were made with ssh-keygen (-t ed25519 / ecdsa / rsa, and -H for hashing).

import {
  checkKnownHosts,
  hostMatches,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
  type KnownHost
} from '../../src/remote/known-hosts.js'
import { hostKeyAlgorithms, verifyHostKey, type HostKeyPins } from '../../src/remote/host-key.js'

const A = 'AAAAC3NzaC1lZDI1NTE5AAAAIIwz39Ka9ZgrgD1nZ87D9/a16rqia8BYOZdWmZQbtS+N'
const A_FP = 'SHA256:XbZctNW8O9BFd+dbZBMC0KDnZJaEDBB4izMDKQORcBI'
const B = 'AAAAC3NzaC1lZDI1NTE5AAAAIK6Kg+1Npkm4skdMOVhmWbhoJ8OqB7J/30Tj9KwFMHc9'
const B_FP = 'SHA256:oR4z4iCX5LRuBKod5k5TPM2J1Y/nK7LL1r4rSEUxNto'
const ECDSA =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOJE7KlFqy6ExA0r2QNlzcsh62SJwXD9Ck+E+eMjfM6YGGWAW2ajss14K9VVXhkg1Sbg2Rq+7ZCkb07Xetv314M='
const RSA =
  'AAAAB3NzaC1yc2EAAAADAQABAAABAQCJuEYMba17gZXgwmVS3bu9ZFPd+vt0vxbeNQGZ8unl5P9DlE55kGEz8jj88xjln6lExDoCk1ZipDaxMAwhs22TAzRKRF7oYzRXg3Ms1M1Y8zfLEUyTlsCBZeKCPU6pajKVnGvS1Av5izliw4GaA+K1JG3Bwbmw4RwiLBpxyao8tN5qRVAo+iZY0xU2w1GHWZUEIPcEM65F7aPCq7BiSNcbvXxKFHKsMz4J/lfkiHgdxA+Dpbp2mqCFZgsn5ugtSWWmDdJ+bMDAcELpyVgcEpA4BbN7Aue0JJ3ic46le62jgDK87l9Yxf9R9oJaBDXYsqEgpttmA3W9w2ht7R/qOV2d'
// ssh-keygen -H of "[127.0.0.1]:2222 ssh-ed25519 A" and "example.test ssh-ed25519 A".
const HASHED_SANDBOX = '|1|SvyieZEmNv1kOzfrTp+Gq7aey5I=|QllL1MnT/L0F2mWv85FVeJfEn4E='
const HASHED_EXAMPLE = '|1|UT5ccQKJ5eK9ckI+ZnLCrvWVPoY=|P7G+vMt91rbRIBmvuwU9LUSREOQ='

const key = (b64: string) => Buffer.from(b64, 'base64')
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const one = (line: string): KnownHost => {
  const [entry] = parseKnownHosts(line)
  if (!entry) throw new Error(`no entry in ${line}`)
  return entry
}

describe('parseKnownHosts', () => {
  test('reads entries with their line numbers; skips blank lines and comments', () => {
    const text = [
      '# the servers',
      '',
      `example.test,10.0.0.5 ssh-ed25519 ${A} deploy@example`,
      `  [127.0.0.1]:2222\tssh-ed25519 ${B}  `,
      `@revoked * ssh-ed25519 ${B}`,
      `${HASHED_EXAMPLE} ecdsa-sha2-nistp256 ${ECDSA}`
    ].join('\r\n')
    expect(parseKnownHosts(text)).toEqual([
      { line: 3, revoked: false, hosts: 'example.test,10.0.0.5', keyType: 'ssh-ed25519', key: A },
      { line: 4, revoked: false, hosts: '[127.0.0.1]:2222', keyType: 'ssh-ed25519', key: B },
      { line: 5, revoked: true, hosts: '*', keyType: 'ssh-ed25519', key: B },
      { line: 6, revoked: false, hosts: HASHED_EXAMPLE, keyType: 'ecdsa-sha2-nistp256', key: ECDSA }
    ])
    expect(parseKnownHosts('  \n# nothing\n')).toEqual([])
  })

  test.each<[string, string, RegExp]>([
    ['a key alone', `ssh-ed25519 ${A}`, /line 1: .*is not "host\[,host2\] keytype base64-key"/],
    ['no key', 'example.test ssh-ed25519', /is not "host\[,host2\] keytype/],
    ['a certificate authority', `@cert-authority *.example ssh-ed25519 ${A}`, /not supported/],
    ['an unknown marker', `@trusted example.test ssh-ed25519 ${A}`, /only @revoked/],
    ['an unsupported key type', `example.test ssh-ed448 ${A}`, /"ssh-ed448" is not supported/],
    ['a certificate type', `h ssh-ed25519-cert-v01@openssh.com ${A}`, /is not supported/],
    ['a key cut off', `example.test ssh-ed25519 ${A.slice(0, 10)}`, /cut off/],
    ['a key cut off in its data', `example.test ssh-ed25519 ${A.slice(0, 60)}`, /cut off/],
    ['an RSA key cut off', `example.test ssh-rsa ${RSA.slice(0, 300)}`, /cut off/],
    ['a key with bytes after it', `example.test ssh-ed25519 ${A.slice(0, -1)}AAAA`, /cut off/],
    ['a type that is not the key', `example.test ssh-rsa ${A}`, /not a valid base64 ssh-rsa/],
    ['not base64', 'example.test ssh-ed25519 AAAA$$$', /not a valid base64/],
    ['a shell character in a host', `a;b ssh-ed25519 ${A}`, /"a;b" is not a host name/],
    ['an empty host in a list', `a,,b ssh-ed25519 ${A}`, /"" is not a host name/],
    ['a bad hash', `|1|abc|def ssh-ed25519 ${A}`, /not a hashed host name/],
    ['an unknown hash kind', `|2|${HASHED_SANDBOX.slice(3)} ssh-ed25519 ${A}`, /hashed/]
  ])('refuses %s, naming the input and the line', (_what, line, message) => {
    expect(() => parseKnownHosts(`# first\n${line}`, 'known-hosts')).toThrow(
      expect.objectContaining({
        input: 'known-hosts',
        message: expect.stringMatching(/^Input "known-hosts": line 2: /)
      })
    )
    expect(() => parseKnownHosts(line)).toThrow(message)
  })
})

describe('host matching', () => {
  test('OpenSSH names a host by itself on port 22 and as [host]:port elsewhere', () => {
    expect(knownHostName('Example.Test', 22)).toBe('example.test')
    expect(knownHostName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222')
    expect(knownHostName('::1', 2222)).toBe('[::1]:2222')
  })

  test.each<[string, string, number, boolean]>([
    ['example.test', 'example.test', 22, true],
    ['example.test', 'EXAMPLE.test', 22, true],
    ['example.test', 'example.test', 2222, false],
    ['example.test', 'other.test', 22, false],
    ['example.test,10.0.0.5', '10.0.0.5', 22, true],
    ['[127.0.0.1]:2222', '127.0.0.1', 2222, true],
    ['[127.0.0.1]:2222', '127.0.0.1', 22, false],
    ['[127.0.0.1]:2222', '127.0.0.1', 2223, false],
    ['[127.0.0.1]:22', '127.0.0.1', 22, false],
    ['[::1]:2222', '::1', 2222, true],
    ['*.example.test', 'web.example.test', 22, true],
    ['*.example.test', 'example.test', 22, false],
    ['*.example.test', 'web.example.test', 2222, false],
    ['[*.example.test]:2222', 'web.example.test', 2222, true],
    ['10.0.0.?', '10.0.0.7', 22, true],
    ['10.0.0.?', '10.0.0.17', 22, false],
    ['*.example.test,!db.example.test', 'web.example.test', 22, true],
    ['*.example.test,!db.example.test', 'db.example.test', 22, false],
    ['example.test', 'exampleXtest', 22, false],
    [HASHED_SANDBOX, '127.0.0.1', 2222, true],
    [HASHED_SANDBOX, '127.0.0.1', 22, false],
    [HASHED_SANDBOX, '127.0.0.2', 2222, false],
    [HASHED_EXAMPLE, 'example.test', 22, true],
    [HASHED_EXAMPLE, 'Example.Test', 22, true],
    [HASHED_EXAMPLE, 'example.test', 2222, false]
  ])('%s names %s port %d: %s', (hosts, host, port, expected) => {
    expect(hostMatches(one(`${hosts} ssh-ed25519 ${A}`), host, port)).toBe(expected)
  })

  test('the key type is read from inside the key', () => {
    expect(keyTypeOf(key(A))).toBe('ssh-ed25519')
    expect(keyTypeOf(key(ECDSA))).toBe('ecdsa-sha2-nistp256')
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe('')
  })
})

describe('checkKnownHosts', () => {
  const entries = parseKnownHosts(
    [
      `example.test ssh-ed25519 ${A}`,
      `[127.0.0.1]:2222 ssh-ed25519 ${A}`,
      `${HASHED_EXAMPLE} ecdsa-sha2-nistp256 ${ECDSA}`,
      `@revoked old.example.test ssh-ed25519 ${B}`,
      `old.example.test ssh-ed25519 ${B}`
    ].join('\n')
  )
  test.each<[string, string, number, string, string]>([
    ['the listed key', 'example.test', 22, A, 'accepted'],
    ['the port form', '127.0.0.1', 2222, A, 'accepted'],
    ['a second key of a hashed line', 'example.test', 22, ECDSA, 'accepted'],
    ['a wrong key', 'example.test', 22, B, 'other-key'],
    ['a wrong key on the port form', '127.0.0.1', 2222, B, 'other-key'],
    ['a key of another host', 'other.test', 22, A, 'unknown-host'],
    ['the right host on another port', 'example.test', 2200, A, 'unknown-host'],
    ['a revoked key, even when listed too', 'old.example.test', 22, B, 'revoked']
  ])('%s', (_what, host, port, presented, verdict) => {
    expect(checkKnownHosts(entries, host, port, key(presented))).toBe(verdict)
  })
})

describe('verifyHostKey', () => {
  const pins = (overrides: Partial<HostKeyPins> = {}): HostKeyPins => ({
    host: '127.0.0.1',
    port: 2222,
    fingerprints: [],
    knownHosts: [],
    ...overrides
  })
  const listing = (line: string) => ({ knownHosts: parseKnownHosts(line) })

  test.each<[string, Partial<HostKeyPins>, string]>([
    ['a pinned fingerprint', { fingerprints: [A_FP] }, A],
    ['a fingerprint written with its padding', { fingerprints: [`${A_FP}=`] }, A],
    ['a known-hosts line', listing(`[127.0.0.1]:2222 ssh-ed25519 ${A}`), A],
    ['either one', { fingerprints: [B_FP], ...listing(`[127.0.0.1]:2222 ssh-ed25519 ${A}`) }, A],
    [
      'a fingerprint when known-hosts has another key',
      { fingerprints: [A_FP], ...listing(`[127.0.0.1]:2222 ssh-ed25519 ${B}`) },
      A
    ]
  ])('accepts %s', (_what, overrides, presented) => {
    expect(verifyHostKey(key(presented), pins(overrides))).toBeUndefined()
  })

  test.each<[string, Partial<HostKeyPins>, RegExp]>([
    [
      'another fingerprint',
      { fingerprints: [B_FP] },
      new RegExp(
        literally(`is ssh-ed25519 ${A_FP}, not the pinned fingerprint (${B_FP}); refusing`)
      )
    ],
    [
      'a known-hosts line with another key',
      listing(`[127.0.0.1]:2222 ssh-ed25519 ${B}`),
      /not the known-hosts key for \[127\.0\.0\.1\]:2222: ssh-ed25519 SHA256:oR4z.* \(line 1\); refusing/
    ],
    [
      'known-hosts lines for other hosts only',
      listing(`127.0.0.1 ssh-ed25519 ${A}`),
      /not a known-hosts line, because none names \[127\.0\.0\.1\]:2222/
    ],
    [
      'a revoked key, even with its fingerprint pinned',
      { fingerprints: [A_FP], ...listing(`@revoked * ssh-ed25519 ${A}`) },
      /is marked @revoked in known-hosts; refusing/
    ],
    ['nothing pinned', {}, /neither fingerprint nor known-hosts/]
  ])('refuses %s, saying why', (_what, overrides, message) => {
    expect(verifyHostKey(key(A), pins(overrides))).toMatch(message)
  })

  test('offers only the host key types known-hosts lists, when it alone decides', () => {
    const kh = parseKnownHosts(
      [`[127.0.0.1]:2222 ssh-rsa ${RSA}`, `other ssh-ed25519 ${A}`].join('\n')
    )
    expect(hostKeyAlgorithms(pins({ knownHosts: kh }))).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa'
    ])
    expect(hostKeyAlgorithms(pins({ knownHosts: kh, fingerprints: [A_FP] }))).toBeUndefined()
    expect(hostKeyAlgorithms(pins({ knownHosts: kh, port: 22 }))).toBeUndefined()
  })
})
