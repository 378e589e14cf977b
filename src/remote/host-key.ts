// Host key pinning: the key a server presents is accepted when it has one of the pinned
// OpenSSH `SHA256:<base64>` fingerprints or a known-hosts line lists it for that host and port.

import { createHash } from 'node:crypto'
import type { ServerHostKeyAlgorithm } from 'ssh2'
import {
  checkKnownHosts,
  entriesFor,
  keyTypeOf,
  knownHostName,
  type KnownHost
} from './known-hosts.js'

export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

export function fingerprintMatches(key: Buffer, accepted: readonly string[]): boolean {
  const actual = fingerprintOf(key)
  return accepted.some(f => f.replace(/=+$/, '') === actual)
}

/** What one server must prove: its key against these pins. */
export interface HostKeyPins {
  host: string
  port: number
  fingerprints: readonly string[]
  knownHosts: readonly KnownHost[]
}

/** `ssh-ed25519 SHA256:…`: what people compare with ssh-keygen -lf output. */
export function describeKey(key: Buffer): string {
  return `${keyTypeOf(key) || 'unknown key type'} ${fingerprintOf(key)}`
}

function listed(entries: readonly KnownHost[]): string {
  return entries
    .filter(e => !e.revoked)
    .map(e => `${describeKey(Buffer.from(e.key, 'base64'))} (line ${e.line})`)
    .join(', ')
}

/**
 * Undefined when the key is accepted; otherwise why it is refused, worded for the log.
 * A key marked `@revoked` for the host is refused even when a fingerprint pins it.
 */
export function verifyHostKey(key: Buffer, pins: HostKeyPins): string | undefined {
  const where = `${pins.host}:${pins.port}`
  const verdict = checkKnownHosts(pins.knownHosts, pins.host, pins.port, key)
  if (verdict === 'revoked') {
    return `the host key of ${where} (${describeKey(key)}) is marked @revoked in known-hosts; refusing to connect`
  }
  if (verdict === 'accepted' || fingerprintMatches(key, pins.fingerprints)) return undefined

  const expected: string[] = []
  if (pins.fingerprints.length > 0) {
    expected.push(`the pinned fingerprint (${pins.fingerprints.join(', ')})`)
  }
  const name = knownHostName(pins.host, pins.port)
  if (verdict === 'other-key') {
    expected.push(
      `the known-hosts key for ${name}: ${listed(entriesFor(pins.knownHosts, pins.host, pins.port))}`
    )
  } else if (pins.knownHosts.length > 0) {
    expected.push(`a known-hosts line, because none names ${name}`)
  }
  if (expected.length === 0) expected.push('pinned: neither fingerprint nor known-hosts is given')
  return (
    `the host key of ${where} is ${describeKey(key)}, not ${expected.join(' nor ')}; ` +
    'refusing to connect. If the key changed on purpose, update the pins ' +
    '(ssh-keyscan -p PORT HOST from a trusted network); otherwise the connection may be intercepted'
  )
}

const ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss']
}

/**
 * The host key algorithms to offer, when only known-hosts can accept the key: those of the
 * key types it lists for the host. Otherwise a server with several host keys may present one
 * that is not listed (say ed25519 when the line has its RSA key) and be refused for it.
 * Undefined (ssh2's defaults) when fingerprints may accept any type, or nothing is listed.
 */
export function hostKeyAlgorithms(pins: HostKeyPins): ServerHostKeyAlgorithm[] | undefined {
  if (pins.fingerprints.length > 0) return undefined
  const types = entriesFor(pins.knownHosts, pins.host, pins.port)
    .filter(e => !e.revoked)
    .map(e => e.keyType)
  const algorithms = [...new Set(types.flatMap(t => ALGORITHMS[t] ?? []))]
  return algorithms.length > 0 ? algorithms : undefined
}
