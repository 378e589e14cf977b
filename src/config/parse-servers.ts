// The `host` input as a list of servers (one a line, `host` or `host:port`), and the
// `fingerprint` input's pins, plain (one server) or one `host[:port] SHA256:…` line per server.

import type { ServerAddress } from './options.js'
import { InputError } from './input-error.js'
import { lines } from './values.js'

const HOST_PATTERN = /^[A-Za-z0-9._:-]{1,253}$/
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}=?$/

/** How a server is named in logs, outputs and the summary: `host`, or `host:port` off port 22. */
export function serverName(s: Pick<ServerAddress, 'host' | 'port'>): string {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host
  return s.port === 22 ? host : `${host}:${s.port}`
}

/**
 * One server line: `host`, `host:port`, `[ipv6]` or `[ipv6]:port`; a bare IPv6 address (two or
 * more colons) has no port. `defaultPort` is the `port` input.
 */
export function parseServerLine(
  name: 'host' | 'fingerprint' | 'proxy-host',
  line: string,
  defaultPort: number
): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(line)
  const named = /^([^:[\]]+):(\d+)$/.exec(line)
  const [hostText, portText] = bracketed
    ? [bracketed[1] ?? '', bracketed[2]]
    : named
      ? [named[1] ?? '', named[2]]
      : [line, undefined]
  const where = `"${line}"`
  if (!HOST_PATTERN.test(hostText)) {
    throw new InputError(
      name,
      `${where} is not a host name or IP address, optionally with :port (host, host:port, [ipv6]:port)`
    )
  }
  const port = portText === undefined ? defaultPort : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InputError(name, `${where} has a port that is not from 1 to 65535`)
  }
  return { host: hostText, port }
}

/**
 * The servers of `host` with their pins from `fingerprint`. With one server, fingerprint lines
 * may be plain; with several, each line names its server (`host[:port] SHA256:…`), since a plain
 * one could belong to any. A server listed twice, or a pin for a server not listed, is refused.
 */
export function parseServers(
  hostText: string,
  fingerprintText: string,
  defaultPort: number
): ServerAddress[] {
  const servers = lines(hostText).map(line => ({
    ...parseServerLine('host', line, defaultPort),
    fingerprints: [] as string[]
  }))
  if (servers.length === 0) {
    throw new InputError('host', "is required: the server's host name or IP address")
  }
  const seen = new Set<string>()
  for (const s of servers) {
    const key = serverName(s).toLowerCase()
    if (seen.has(key)) throw new InputError('host', `${serverName(s)} is listed twice`)
    seen.add(key)
  }
  for (const line of lines(fingerprintText)) {
    const parts = line.split(/\s+/)
    const fingerprint = parts.length === 1 ? parts[0] : parts[1]
    if (parts.length > 2 || !FINGERPRINT_PATTERN.test(fingerprint ?? '')) {
      throw new InputError(
        'fingerprint',
        `"${line}" is not an OpenSSH SHA256 fingerprint (SHA256:<43 base64 characters>), optionally after the server it pins: host[:port] SHA256:…`
      )
    }
    const pin = fingerprint ?? ''
    if (parts.length === 1) {
      const only = servers.length === 1 ? servers[0] : undefined
      if (!only) {
        throw new InputError(
          'fingerprint',
          `"${line}" does not say which of the ${servers.length} servers it pins: write one "host[:port] SHA256:…" line per server`
        )
      }
      only.fingerprints.push(pin)
      continue
    }
    const { host, port } = parseServerLine('fingerprint', parts[0] ?? '', defaultPort)
    const server = servers.find(s => s.host.toLowerCase() === host.toLowerCase() && s.port === port)
    if (!server) {
      throw new InputError(
        'fingerprint',
        `"${line}" pins ${serverName({ host, port })}, which host does not list (${servers.map(serverName).join(', ')})`
      )
    }
    server.fingerprints.push(pin)
  }
  return servers
}

/** `max-parallel`: after the first server, how many switch at once; 0 (empty) for all of them. */
export function parseMaxParallel(text: string): number {
  if (text === '') return 0
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1000) {
    throw new InputError(
      'max-parallel',
      `"${text}" is not a whole number from 1 to 1000 (empty: every server at once after the first)`
    )
  }
  return Number(text)
}
