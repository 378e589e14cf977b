// Reading single input values: defaults, lines, booleans, numbers. Each refusal names the input.

import { InputError } from './input-error.js'
import type { InputName, RawInputs } from './inputs.js'

export const DEFAULTS = {
  command: 'deploy',
  method: 'tar',
  orchestrator: 'compose',
  compression: 'gzip',
  'build-network': 'default',
  'compose-file': 'docker-compose.yml',
  port: '22',
  username: 'root',
  timeout: '30',
  'healthcheck-timeout': '60',
  'healthcheck-interval': '2',
  'healthcheck-monitor': '10',
  ingress: 'none',
  'ingress-image': 'caddy:2',
  'ingress-http-port': '80',
  'ingress-https-port': '443',
  'drain-timeout': '30',
  'skip-healthcheck': 'false',
  'no-rollback': 'false',
  'skip-build': 'false',
  'force-unlock': 'false',
  'insecure-skip-host-key-check': 'false',
  'keep-versions': '5',
  'keep-history': '10',
  'lock-timeout': '600',
  'lock-stale-after': '300',
  'release-timeout': '600',
  'proxy-port': '22',
  'proxy-username': 'root'
} as const satisfies Partial<RawInputs>

export function value(raw: RawInputs, name: InputName): string {
  const v = (raw[name] ?? '').trim()
  if (v !== '') return v
  return (DEFAULTS as Partial<Record<InputName, string>>)[name] ?? ''
}

/** Non-empty lines, trimmed; `#` starts a comment line. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
}

export function noControlChars(name: InputName, text: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) {
    throw new InputError(name, 'contains control characters (NUL, escape, ...); remove them')
  }
}

export function parseBoolean(name: InputName, text: string): boolean {
  if (['true', 'True', 'TRUE'].includes(text)) return true
  if (['false', 'False', 'FALSE'].includes(text)) return false
  throw new InputError(name, `"${text}" is not a boolean; use true or false`)
}

export function parseInteger(name: InputName, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InputError(name, `"${text}" is not a whole number from ${min} to ${max}`)
  }
  return Number(text)
}

/** Seconds as milliseconds; above 0, or from 0 when `zeroTurnsOff` (0 then means off). */
export function parseSeconds(
  name: InputName,
  text: string,
  max: number,
  zeroTurnsOff = false
): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || (zeroTurnsOff ? n < 0 : n <= 0) || n > max) {
    const lowest = zeroTurnsOff ? 'from 0 (off)' : 'above 0'
    throw new InputError(name, `"${text}" is not a number of seconds ${lowest} and at most ${max}`)
  }
  return Math.round(n * 1000)
}
