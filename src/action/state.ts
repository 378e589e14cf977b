// What the main step leaves for the post step (GITHUB_STATE), read back as STATE_* by the runner.

import * as core from '@actions/core'
import type { SwitchInFlight } from '../engine/server/in-flight.js'
import type { CheckpointName } from '../engine/server/session.js'
import type { Leftovers } from '../engine/commands/recover.js'
import { heldLocks } from '../engine/server/session.js'

export const isPost = (): boolean => core.getState('isPost') === 'true'

export function markMainStarted(): void {
  core.saveState('isPost', 'true')
}

export function checkpoint(name: CheckpointName, value: string): void {
  core.saveState(name, value)
}

/** The GitHub deployment a run has in progress ('' once settled). */
export function rememberDeployment(id: string): void {
  core.saveState('deployment', id)
}

export function leftDeployment(): number | undefined {
  const id = Number(core.getState('deployment'))
  return Number.isInteger(id) && id > 0 ? id : undefined
}

export function leftovers(): Leftovers {
  const switching = core.getState('switching')
  return {
    locks: heldLocks(core.getState('lock')),
    switching: switching ? (JSON.parse(switching) as SwitchInFlight) : undefined
  }
}
