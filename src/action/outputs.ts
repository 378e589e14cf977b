// The step's outputs, as action.yml declares them.

import * as core from '@actions/core'
import type { CommandResult } from '../engine/commands/result.js'

export function outputsOf(result: CommandResult): Record<string, string> {
  return {
    version: result.version,
    'previous-version': result.previousVersion,
    status: result.status,
    'rolled-back': String(result.rolledBack),
    method: result.method,
    history: JSON.stringify(result.history),
    healthy: result.healthy === undefined ? '' : String(result.healthy),
    'restorable-versions': result.restorable ? JSON.stringify(result.restorable) : '',
    // Several servers only: one server is the other outputs.
    hosts: result.hosts
      ? JSON.stringify(
          result.hosts.map(h => ({
            host: h.host,
            'previous-version': h.previous,
            version: h.version,
            status: h.status,
            ...(h.healthy !== undefined ? { healthy: h.healthy } : {})
          }))
        )
      : ''
  }
}

export function writeOutputs(result: CommandResult): void {
  for (const [name, value] of Object.entries(outputsOf(result))) core.setOutput(name, value)
}
