// Tells the runner which input values to mask in every log line.

import * as core from '@actions/core'
import { SECRET_INPUTS, type RawInputs } from '../config/inputs.js'
import { buildSecretValues } from '../config/parse-build.js'

export function registerSecrets(raw: RawInputs): void {
  for (const name of SECRET_INPUTS) {
    const secret = raw[name]
    if (!secret) continue
    core.setSecret(secret)
    // A multi-line key is masked line by line too, so no single line of it can show.
    for (const line of secret.split(/\r?\n/))
      if (line.trim().length >= 8) core.setSecret(line.trim())
  }
  // A build secret's value alone (a line is `id=value`), whatever its length.
  for (const v of buildSecretValues(raw['build-secrets'] ?? '')) core.setSecret(v)
}
