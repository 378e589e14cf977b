// The step's outputs, as action.yml declares them.

import * as core from '@actions/core'
import type { DeployResult } from '../engine/deploy.js'

export function outputsOf(result: DeployResult): Record<string, string> {
  return {
    version: result.version,
    'previous-version': result.previousVersion,
    status: result.status,
    'rolled-back': String(result.rolledBack),
    method: result.method,
    history: JSON.stringify(result.history)
  }
}

export function writeOutputs(result: DeployResult): void {
  for (const [name, value] of Object.entries(outputsOf(result))) core.setOutput(name, value)
}
