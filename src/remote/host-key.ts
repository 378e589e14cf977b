// Host key pinning: the OpenSSH `SHA256:<base64>` fingerprint of the key the server presents.

import { createHash } from 'node:crypto'

export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

export function fingerprintMatches(key: Buffer, accepted: readonly string[]): boolean {
  const actual = fingerprintOf(key)
  return accepted.some(f => f.replace(/=+$/, '') === actual)
}
