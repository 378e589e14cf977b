// The registry inputs of `method: registry`: where images go, and the login for it.

import type { RegistryOptions } from './options.js'
import { InputError } from './input-error.js'
import type { RawInputs } from './inputs.js'
import { value } from './values.js'

// A registry host (a name with a dot, `localhost`, or an IP, with an optional port), then an
// optional path of lowercase repository components, as Docker's reference grammar has them.
const HOST =
  /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
// Registry user names: letters, digits and . _ @ + - (e-mail addresses, `_json_key`, `AWS`, …).
const USER = /^[A-Za-z0-9._@+-]{1,255}$/

export function parseRegistry(raw: RawInputs, required: boolean): RegistryOptions | undefined {
  const url = value(raw, 'registry').replace(/\/+$/, '')
  const username = value(raw, 'registry-username')
  const password = (raw['registry-password'] ?? '').trim()
  if (url === '') {
    if (required) {
      throw new InputError(
        'registry',
        'is required with method registry: host[:port][/path] where images are pushed, e.g. ghcr.io/acme'
      )
    }
    if (username || password) {
      throw new InputError(
        username ? 'registry-username' : 'registry-password',
        'is set but registry is empty: set registry (host[:port][/path]), or remove it'
      )
    }
    return undefined
  }
  const [host = '', ...path] = url.split('/')
  if (!HOST.test(host) || !path.every(p => PATH_COMPONENT.test(p))) {
    throw new InputError(
      'registry',
      `"${url}" is not a registry reference: host[:port][/path], e.g. ghcr.io/acme or registry.example.com:5000 (the host needs a dot, a port or "localhost"; path parts in lowercase)`
    )
  }
  if ((username === '') !== (password === '')) {
    throw new InputError(
      username ? 'registry-password' : 'registry-username',
      'is required with the other: give registry-username and registry-password together (or neither, for anonymous pulls)'
    )
  }
  if (username && !USER.test(username)) {
    throw new InputError(
      'registry-username',
      `"${username}" is not a registry user name (letters, digits and . _ @ + -)`
    )
  }
  return {
    url,
    host,
    ...(username ? { username, password } : {})
  }
}
