// `ingress`, `ingress-image`, `ingress-http-port`, `ingress-https-port` and `drain-timeout`.
// Pure: each refusal names its input.

import type { IngressOptions, Orchestrator } from './options.js'
import { INGRESSES } from './options.js'
import { InputError } from './input-error.js'
import type { RawInputs } from './inputs.js'
import { parseSeconds, value } from './values.js'

const IMAGE_PATTERN = /^[a-z0-9][a-z0-9._/:@-]*$/i

/** The ingress the action manages, or undefined with `ingress: none`. */
export function parseIngress(
  raw: RawInputs,
  orchestrator: Orchestrator
): IngressOptions | undefined {
  const kind = value(raw, 'ingress')
  if (!(INGRESSES as readonly string[]).includes(kind)) {
    throw new InputError('ingress', `"${kind}" is not one of ${INGRESSES.join(', ')}`)
  }
  if (kind === 'none') return undefined
  if (orchestrator === 'swarm') {
    throw new InputError(
      'ingress',
      'caddy is not supported with orchestrator swarm: a swarm routes through its own routing mesh, and honours deploy.update_config.order start-first by itself'
    )
  }
  const image = value(raw, 'ingress-image')
  if (!IMAGE_PATTERN.test(image)) {
    throw new InputError('ingress-image', `"${image}" is not an image reference (e.g. caddy:2)`)
  }
  const httpPort = parsePort('ingress-http-port', value(raw, 'ingress-http-port'), 1)
  const httpsPort = parsePort('ingress-https-port', value(raw, 'ingress-https-port'), 0)
  if (httpsPort === httpPort) {
    throw new InputError(
      'ingress-https-port',
      `${httpsPort} is also ingress-http-port: give two different ports (or 0 for plain HTTP only)`
    )
  }
  return { image, httpPort, httpsPort }
}

export function parseDrainTimeout(raw: RawInputs): number {
  return parseSeconds('drain-timeout', value(raw, 'drain-timeout'), 3600, true)
}

function parsePort(
  name: 'ingress-http-port' | 'ingress-https-port',
  text: string,
  min: number
): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < min || Number(text) > 65535) {
    const zero = min === 0 ? ', or 0 for plain HTTP only' : ''
    throw new InputError(name, `"${text}" is not a port: a whole number from 1 to 65535${zero}`)
  }
  return Number(text)
}
