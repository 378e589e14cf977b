// The CLI's own masking (the action has core.setSecret): every secret value, each line of at
// least 8 characters of a multi-line one (a key), also as JSON writes them, becomes ***.

import { SECRET_INPUTS } from '../config/inputs.js'
import type { Given } from './args.js'
import { buildSecretValues } from '../config/parse-build.js'

export type Mask = (text: string) => string

const json = (s: string) => JSON.stringify(s).slice(1, -1)

/** What to hide of one secret value: itself and its long lines, raw and JSON-escaped (twice). */
function forms(secret: string): string[] {
  const lines = secret.split(/\r?\n/).map(l => l.trim())
  const parts = [secret.trim(), ...(lines.length > 1 ? lines.filter(l => l.length >= 8) : [])]
  return parts.flatMap(p => [p, json(p), json(json(p))]).filter(p => p !== '')
}

export function maskOf(secrets: readonly string[]): Mask {
  // Longest first: a whole key goes before its lines.
  const hidden = [...new Set(secrets.flatMap(forms))].sort((a, b) => b.length - a.length)
  return text => hidden.reduce((t, s) => t.split(s).join('***'), text)
}

/** The secret inputs' values in every source (flags, environment, file), and a key file's text. */
export function secretsOf(sources: readonly Given[], keyText = ''): string[] {
  const values = sources.flatMap(g => SECRET_INPUTS.map(name => g[name] ?? ''))
  // A build secret's value alone (a line is `id=value`).
  const built = sources.flatMap(g => buildSecretValues(g['build-secrets'] ?? ''))
  return [...values, ...built, keyText].filter(v => v.trim() !== '')
}
