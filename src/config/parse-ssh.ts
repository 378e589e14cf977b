// The SSH inputs: the servers, their host key pins (fingerprint, known-hosts) and the jump host.

import type { ServerAddress, SshEndpoint, SshOptions } from './options.js'
import { InputError } from './input-error.js'
import type { InputName, RawInputs } from './inputs.js'
import { lines, parseBoolean, parseInteger, parseSeconds, value } from './values.js'
import {
  entriesFor,
  knownHostName,
  parseKnownHosts,
  type KnownHost
} from '../remote/known-hosts.js'
import { parseServerLine, parseServers, serverName } from './parse-servers.js'

const USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}=?$/

function parseUsername(name: 'username' | 'proxy-username', text: string): string {
  if (!USER_PATTERN.test(text)) throw new InputError(name, `"${text}" is not a valid user name`)
  return text
}

function parsePrivateKey(name: 'key' | 'proxy-key', text: string): string {
  if (!/PRIVATE KEY-----/.test(text)) {
    throw new InputError(
      name,
      'must be the private key text (-----BEGIN … PRIVATE KEY-----), not a path or a public key'
    )
  }
  return text
}

export function parseFingerprints(name: 'proxy-fingerprint', text: string): string[] {
  const fingerprints = lines(text)
  for (const f of fingerprints) {
    if (!FINGERPRINT_PATTERN.test(f)) {
      throw new InputError(
        name,
        `"${f}" is not an OpenSSH SHA256 fingerprint (SHA256:<43 base64 characters>)`
      )
    }
  }
  return fingerprints
}

/**
 * Refuses an endpoint whose host key nothing would accept, before any connection is made:
 * it needs a fingerprint or a known-hosts line (not @revoked) for its host and port.
 */
function requirePins(
  endpoint: SshEndpoint,
  knownHosts: readonly KnownHost[],
  input: 'fingerprint' | 'proxy-fingerprint',
  whose: string
): void {
  const { host, port } = endpoint
  if (endpoint.fingerprints.length > 0) return
  if (entriesFor(knownHosts, host, port).some(e => !e.revoked)) return
  const keyscan = `ssh-keyscan -p ${port} ${host}`
  if (knownHosts.length === 0) {
    throw new InputError(
      input,
      `is required to pin ${whose} host key (or give known-hosts). Get it with: ${keyscan} | ssh-keygen -lf - (take the SHA256:… part), or put the lines of ${keyscan} in known-hosts`
    )
  }
  throw new InputError(
    'known-hosts',
    `has no line for ${knownHostName(host, port)} (${whose} host; OpenSSH writes [host]:port for ports other than 22): add the lines of ${keyscan}, or give ${input}`
  )
}

/** The jump host, when proxy-host is set. Its key and passphrase default to the target's. */
function parseProxy(
  raw: RawInputs,
  target: SshEndpoint,
  knownHosts: readonly KnownHost[],
  insecure: boolean
): SshEndpoint | undefined {
  const given = (name: InputName) => (raw[name] ?? '').trim() !== ''
  if (value(raw, 'proxy-host') === '') {
    // A jump host half-configured would otherwise be ignored without a word.
    for (const name of ['proxy-key', 'proxy-passphrase', 'proxy-fingerprint'] as const) {
      if (given(name)) {
        throw new InputError(name, 'is set but proxy-host is empty: set proxy-host, or remove it')
      }
    }
    return undefined
  }
  if (given('proxy-passphrase') && !given('proxy-key')) {
    throw new InputError(
      'proxy-passphrase',
      'is set but proxy-key is empty (the jump host then uses key and passphrase): set proxy-key, or remove it'
    )
  }
  const ownKey = given('proxy-key')
  const passphrase = raw['proxy-passphrase'] ?? ''
  const proxy: SshEndpoint = {
    ...parseProxyHost(raw),
    username: parseUsername('proxy-username', value(raw, 'proxy-username')),
    privateKey: ownKey ? parsePrivateKey('proxy-key', raw['proxy-key']) : target.privateKey,
    passphrase: ownKey ? passphrase || undefined : target.passphrase,
    fingerprints: parseFingerprints('proxy-fingerprint', value(raw, 'proxy-fingerprint'))
  }
  if (!insecure) requirePins(proxy, knownHosts, 'proxy-fingerprint', "the jump host's")
  return proxy
}

/**
 * The SSH options of the first server, with every server of `host` (one a line) and its pins.
 * Every server's host key must be pinned (fingerprint or known-hosts) unless the check is off.
 */
export function parseSsh(raw: RawInputs): SshOptions & { servers: ServerAddress[] } {
  const passphrase = raw.passphrase ?? ''
  const port = parseInteger('port', value(raw, 'port'), 1, 65535)
  const servers = parseServers(value(raw, 'host'), value(raw, 'fingerprint'), port)
  const first = servers[0] as ServerAddress
  const target: SshEndpoint = {
    ...first,
    username: parseUsername('username', value(raw, 'username')),
    privateKey: parsePrivateKey('key', raw.key ?? ''),
    passphrase: passphrase === '' ? undefined : passphrase
  }
  const insecure = parseBoolean(
    'insecure-skip-host-key-check',
    value(raw, 'insecure-skip-host-key-check')
  )
  const knownHosts = parseKnownHosts(raw['known-hosts'] ?? '', 'known-hosts')
  if (!insecure) {
    for (const s of servers) {
      const whose = servers.length === 1 ? "the server's" : `the server ${serverName(s)}'s`
      requirePins({ ...target, ...s }, knownHosts, 'fingerprint', whose)
    }
  }
  const proxy = parseProxy(raw, target, knownHosts, insecure)
  return {
    ...target,
    knownHosts,
    insecureSkipHostKeyCheck: insecure,
    timeoutMs: parseSeconds('timeout', value(raw, 'timeout'), 3600),
    ...(proxy ? { proxy } : {}),
    servers
  }
}

/**
 * `proxy-host` read like a `host` line (`host`, `host:port`, `[ipv6]:port`); a port there must
 * agree with `proxy-port` when that is given too.
 */
function parseProxyHost(raw: RawInputs): { host: string; port: number } {
  const portGiven = (raw['proxy-port'] ?? '').trim() !== ''
  const port = parseInteger('proxy-port', value(raw, 'proxy-port'), 1, 65535)
  const line = value(raw, 'proxy-host')
  const parsed = parseServerLine('proxy-host', line, port)
  if (portGiven && parsed.port !== port) {
    throw new InputError(
      'proxy-host',
      `"${line}" names port ${parsed.port}, and proxy-port says ${port}: give the jump host's port in one of them`
    )
  }
  return parsed
}
