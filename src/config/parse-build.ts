// The inputs of a BuildKit build through `docker buildx`: `builder`, `build-secrets`,
// `build-network`, `cache-from` and `cache-to`, from their raw text to typed values. Pure; each
// refusal names its input.

import { InputError } from './input-error.js'
import {
  BUILD_NETWORKS,
  type BuildNetwork,
  type BuildOptions,
  type BuildSecret,
  type CacheEntry
} from './options.js'
import type { RawInputs } from './inputs.js'
import { lines, value } from './values.js'

const CACHE_TYPES = ['registry', 'local', 'inline', 'gha', 's3', 'azblob'] as const
// What each cache type cannot go without, on the way in (from) and out (to).
const REQUIRED: Record<string, { from: string[]; to: string[] }> = {
  registry: { from: ['ref'], to: ['ref'] },
  local: { from: ['src'], to: ['dest'] },
  s3: { from: ['region', 'bucket'], to: ['region', 'bucket'] },
  azblob: { from: ['name'], to: ['name'] }
}
// Credentials buildx would take as attributes, and the variables it reads them from when they
// are left out (gha and s3): as attributes they would ride in the argument list, which any
// process on the runner can read.
const CREDENTIALS: Record<string, string> = {
  token: 'ACTIONS_RUNTIME_TOKEN',
  access_key_id: 'AWS_ACCESS_KEY_ID',
  secret_access_key: 'AWS_SECRET_ACCESS_KEY',
  session_token: 'AWS_SESSION_TOKEN'
}

// A builder is a buildx builder's name or a docker context's; never an option (`-…`).
const BUILDER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/
// Secret ids appear in `--secret id=<id>,env=…` and in the Dockerfile's `--mount=type=secret`.
const SECRET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/
const SECRET_ENV_PREFIX = 'VERSIONED_DEPLOY_BUILD_SECRET_'

/** `builder`: the buildx builder to build with; undefined (empty) for buildx's current one. */
export function parseBuilder(text: string): string | undefined {
  const builder = text.trim()
  if (builder === '') return undefined
  if (!BUILDER_PATTERN.test(builder)) {
    throw new InputError(
      'builder',
      `"${builder}" is not a builder name (letters, digits and . _ + -, starting with a letter or digit): see docker buildx ls`
    )
  }
  return builder
}

/**
 * `build-secrets`: one `id=value` a line (empty lines and `#` comments skipped). A refusal never
 * quotes the line, which may be the value itself: it gives the line's number in the input.
 */
export function parseBuildSecrets(text: string): BuildSecret[] {
  const secrets: BuildSecret[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const eq = line.indexOf('=')
    const where = `line ${i + 1}`
    if (eq < 0) {
      throw new InputError(
        'build-secrets',
        `${where} has no "=": write each secret as id=value (the id the Dockerfile mounts with --mount=type=secret,id=…)`
      )
    }
    const id = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (!SECRET_ID_PATTERN.test(id)) {
      throw new InputError(
        'build-secrets',
        `${where}: the id before "=" must be letters, digits and . _ - (starting with a letter or digit)`
      )
    }
    if (value === '') {
      throw new InputError(
        'build-secrets',
        `${where}: secret "${id}" has an empty value (is the secret it comes from defined for this repository and environment?)`
      )
    }
    if (secrets.some(s => s.id === id)) {
      throw new InputError('build-secrets', `secret "${id}" is given twice`)
    }
    secrets.push({ id, value, env: `${SECRET_ENV_PREFIX}${secrets.length + 1}` })
  })
  return secrets
}

/** `build-network`: empty is `default`, the builder's own network. */
export function parseBuildNetwork(text: string): BuildNetwork {
  const network = text.trim() || 'default'
  if ((BUILD_NETWORKS as readonly string[]).includes(network)) return network as BuildNetwork
  throw new InputError(
    'build-network',
    `"${network}" is not one of ${BUILD_NETWORKS.join(', ')} (the network of the Dockerfile's RUN steps)`
  )
}

/**
 * `cache-from` / `cache-to`: one buildx cache line each (`type=registry,ref=…`,
 * `type=gha`, …). A bare reference (`ghcr.io/acme/app:cache`) is a registry one, as buildx has it.
 */
export function parseCacheEntries(name: 'cache-from' | 'cache-to', text: string): CacheEntry[] {
  return lines(text).map(line => parseCacheLine(name, line))
}

function parseCacheLine(name: 'cache-from' | 'cache-to', line: string): CacheEntry {
  if (!line.includes('=')) {
    if (/[\s,]/.test(line)) {
      throw new InputError(name, `"${line}" is not type=…,key=value,… nor an image reference`)
    }
    return { type: 'registry', attrs: [['ref', line]] }
  }
  const fields = line.split(',').map(f => {
    const eq = f.indexOf('=')
    return [eq > 0 ? f.slice(0, eq).trim() : '', f.slice(eq + 1).trim()] as [string, string]
  })
  const type = fields.find(([k]) => k === 'type')?.[1] ?? ''
  // Before any refusal that quotes the line: this one must not.
  const credential = fields.find(([k]) => CREDENTIALS[k] !== undefined)?.[0]
  if (credential !== undefined) {
    const instead =
      type === 'azblob'
        ? 'the builder reads the storage account key from its own environment'
        : `buildx reads it from ${CREDENTIALS[credential]} in the job's environment`
    throw new InputError(
      name,
      `a line of type ${type || '(none)'} has ${credential}=…, which would put a credential in the build's command line: leave it out; ${instead}`
    )
  }
  const bad = line.split(',').find((_, i) => !/^[a-z][a-z0-9_-]*$/.test(fields[i]?.[0] ?? ''))
  if (bad !== undefined) throw new InputError(name, `"${line}": "${bad}" is not key=value`)
  if (!(CACHE_TYPES as readonly string[]).includes(type)) {
    throw new InputError(
      name,
      `"${line}" has ${type === '' ? 'no type=' : `type "${type}"`}: use one of ${CACHE_TYPES.join(', ')}`
    )
  }
  const way = name === 'cache-from' ? 'from' : 'to'
  if (type === 'inline' && way === 'from') {
    throw new InputError(
      name,
      `"${line}": an inline cache is read from the image it was pushed with: write type=registry,ref=<that image>`
    )
  }
  const attrs = fields.filter(([k]) => k !== 'type')
  const missing = (REQUIRED[type]?.[way] ?? []).filter(k => !attrs.some(([a]) => a === k))
  if (missing.length > 0) {
    throw new InputError(name, `"${line}" needs ${missing.map(k => `${k}=…`).join(' and ')}`)
  }
  return { type, attrs }
}

/**
 * A cache line for one service's build. A `type=gha` line without `scope=` gets the service's
 * name: without it every service of the stack would share buildx's default scope, `buildkit`,
 * and each build would overwrite the cache of the one before.
 */
export function cacheLine(entry: CacheEntry, service: string): string {
  const attrs =
    entry.type === 'gha' && !entry.attrs.some(([k]) => k === 'scope')
      ? [...entry.attrs, ['scope', service]]
      : entry.attrs
  return [`type=${entry.type}`, ...attrs.map(([k, v]) => `${k}=${v}`)].join(',')
}

/** The environment that carries the secrets' values to the buildx process: variable → value. */
export function secretEnvironment(secrets: readonly BuildSecret[]): Record<string, string> {
  return Object.fromEntries(secrets.map(s => [s.env, s.value]))
}

/** The build inputs of a run, parsed. */
export function parseBuildOptions(raw: RawInputs, sourceDateEpoch?: number): BuildOptions {
  const builder = parseBuilder(value(raw, 'builder'))
  return {
    ...(builder !== undefined ? { builder } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    secrets: parseBuildSecrets(value(raw, 'build-secrets')),
    network: parseBuildNetwork(value(raw, 'build-network')),
    cacheFrom: parseCacheEntries('cache-from', value(raw, 'cache-from')),
    cacheTo: parseCacheEntries('cache-to', value(raw, 'cache-to'))
  }
}

/** The values of `build-secrets` (what follows each line's first `=`), to be masked. */
export function buildSecretValues(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#') && l.includes('='))
    .map(l => l.slice(l.indexOf('=') + 1).trim())
    .filter(v => v !== '')
}
