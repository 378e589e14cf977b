// OpenSSH known_hosts lines: parsing (at input validation) and looking a host up in them (when
// the server presents its key). Pure: no files, no network; the lines come from an input.
//
// Supported, as OpenSSH writes and reads them: `host[,host2] keytype base64 [comment]`,
// `[host]:port` for ports other than 22, `*`/`?` wildcards and `!` negation in host patterns,
// hashed hosts (`|1|salt|hash`, ssh-keygen -H), `#` comments and `@revoked`. Refused:
// `@cert-authority` (ssh2 cannot check host certificates).

import { createHmac, timingSafeEqual } from 'node:crypto'
import { InputError } from '../config/input-error.js'

export interface KnownHost {
  /** 1-based line number in the input, so that messages can point at it. */
  line: number
  /** `@revoked`: this key is refused for these hosts, whatever else accepts it. */
  revoked: boolean
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash`. */
  hosts: string
  keyType: string
  /** The public key blob, base64 as written. */
  key: string
}

/**
 * Host key types ssh2 can verify (certificates and security-key types are not among them),
 * with how many length-prefixed fields their public key blob holds, type name included.
 */
const BLOB_FIELDS = {
  'ssh-ed25519': 2,
  'ecdsa-sha2-nistp256': 3,
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'ssh-rsa': 3,
  'ssh-dss': 5
} as const
export const KEY_TYPES = Object.keys(BLOB_FIELDS) as (keyof typeof BLOB_FIELDS)[]

const HASHED = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/
const PATTERN = /^!?(\[[A-Za-z0-9._:*?%-]+\]:\d{1,5}|[A-Za-z0-9._:*?%-]+)$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` on any other. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`
}

/** The key type written inside an SSH public key blob (its first string), or '' if malformed. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return ''
  const n = blob.readUInt32BE(0)
  return n > 0 && n <= 64 && blob.length >= 4 + n ? blob.toString('latin1', 4, 4 + n) : ''
}

/** Whether the blob is exactly the fields its type has: a key cut off while copying is not. */
function wellFormed(blob: Buffer, keyType: keyof typeof BLOB_FIELDS): boolean {
  let offset = 0
  let fields = 0
  while (offset + 4 <= blob.length) {
    offset += 4 + blob.readUInt32BE(offset)
    fields++
  }
  return offset === blob.length && fields === BLOB_FIELDS[keyType] && keyTypeOf(blob) === keyType
}

function refuse(input: string, line: number, message: string): never {
  throw new InputError(input, `line ${line}: ${message}`)
}

function checkHosts(input: string, n: number, hosts: string): void {
  if (hosts.startsWith('|')) {
    // Salt and hash are both 20 bytes (HMAC-SHA1) in what ssh-keygen -H writes.
    const [, salt = '', hash = ''] = HASHED.exec(hosts) ?? []
    if (Buffer.from(salt, 'base64').length !== 20 || Buffer.from(hash, 'base64').length !== 20) {
      refuse(
        input,
        n,
        `"${hosts}" is not a hashed host name (|1|<salt>|<hash>, as ssh-keygen -H writes)`
      )
    }
    return
  }
  for (const pattern of hosts.split(',')) {
    if (!PATTERN.test(pattern)) {
      refuse(
        input,
        n,
        `"${pattern}" is not a host name, IP address or [host]:port (wildcards * ? and ! allowed)`
      )
    }
  }
}

function checkKey(input: string, n: number, keyType: string, key: string): void {
  if (!Object.hasOwn(BLOB_FIELDS, keyType)) {
    refuse(
      input,
      n,
      `key type "${keyType}" is not supported; use a line with one of ${KEY_TYPES.join(', ')} (ssh-keyscan prints them)`
    )
  }
  // A key cut off while copying still looks like base64; its inner structure gives it away.
  const type = keyType as keyof typeof BLOB_FIELDS
  if (!BASE64.test(key) || !wellFormed(Buffer.from(key, 'base64'), type)) {
    refuse(input, n, `the key is not a valid base64 ${keyType} public key (cut off while copying?)`)
  }
}

function parseLine(input: string, n: number, text: string): KnownHost {
  const fields = text.split(/[ \t]+/)
  let revoked = false
  if (fields[0]?.startsWith('@')) {
    const marker = fields.shift()
    if (marker === '@cert-authority') {
      refuse(
        input,
        n,
        "@cert-authority is not supported (host certificates cannot be checked); list the host's own key (ssh-keyscan -p PORT HOST) instead"
      )
    }
    if (marker !== '@revoked')
      refuse(input, n, `unknown marker "${marker}"; only @revoked is supported`)
    revoked = true
  }
  const [hosts = '', keyType = '', key = ''] = fields
  if (key === '') {
    refuse(
      input,
      n,
      `"${text}" is not "host[,host2] keytype base64-key" (or "[host]:port keytype key")`
    )
  }
  checkHosts(input, n, hosts)
  checkKey(input, n, keyType, key)
  return { line: n, revoked, hosts, keyType, key }
}

/**
 * Parses known_hosts text; blank lines and `#` comments are skipped. Throws an InputError
 * naming `input` and the line for anything it cannot use, so a typo never silently weakens
 * the check.
 */
export function parseKnownHosts(text: string, input = 'known-hosts'): KnownHost[] {
  const entries: KnownHost[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line !== '' && !line.startsWith('#')) entries.push(parseLine(input, i + 1, line))
  })
  return entries
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${source}$`).test(name)
}

function hashedMatches(hosts: string, name: string): boolean {
  const m = HASHED.exec(hosts)
  if (!m) return false
  const salt = Buffer.from(m[1] ?? '', 'base64')
  const hash = Buffer.from(m[2] ?? '', 'base64')
  const actual = createHmac('sha1', salt).update(name).digest()
  return actual.length === hash.length && timingSafeEqual(actual, hash)
}

/** Whether the entry's host field names host:port, the way OpenSSH decides it. */
export function hostMatches(entry: KnownHost, host: string, port: number): boolean {
  const name = knownHostName(host, port)
  if (entry.hosts.startsWith('|')) return hashedMatches(entry.hosts, name)
  let matched = false
  for (const pattern of entry.hosts.split(',')) {
    const negated = pattern.startsWith('!')
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue
    // A matching negated pattern excludes the host from the whole line.
    if (negated) return false
    matched = true
  }
  return matched
}

/** The entries that apply to host:port, revoked ones included. */
export function entriesFor(entries: readonly KnownHost[], host: string, port: number): KnownHost[] {
  return entries.filter(e => hostMatches(e, host, port))
}

export type KnownHostsVerdict =
  /** An entry for the host lists this key. */
  | 'accepted'
  /** The key is `@revoked` for the host: refuse, even if something else accepts it. */
  | 'revoked'
  /** The host has entries, none with this key. */
  | 'other-key'
  /** No entry names the host. */
  | 'unknown-host'

export function checkKnownHosts(
  entries: readonly KnownHost[],
  host: string,
  port: number,
  key: Buffer
): KnownHostsVerdict {
  const mine = entriesFor(entries, host, port)
  const same = mine.filter(e => Buffer.from(e.key, 'base64').equals(key))
  if (same.some(e => e.revoked)) return 'revoked'
  if (same.length > 0) return 'accepted'
  return mine.some(e => !e.revoked) ? 'other-key' : 'unknown-host'
}
