// The raw inputs of a deploy that parses: every input empty but a service, a host, a key and a
// fingerprint. Shared by the tests of parseOptions and of the inputs it reads.

import { INPUT_NAMES, type RawInputs } from '../../src/config/inputs.js'

export const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n'
export const FP = 'SHA256:' + 'A'.repeat(43)

export function raw(overrides: Partial<RawInputs> = {}): RawInputs {
  const r = Object.fromEntries(INPUT_NAMES.map(n => [n, ''])) as RawInputs
  return {
    ...r,
    services: 'api=./api',
    host: 'example.test',
    key: KEY,
    fingerprint: FP,
    ...overrides
  }
}

/** The message of what `f` throws; fails the test when it throws nothing. */
export function refusal(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return (e as Error).message
  }
  throw new Error('accepted')
}
