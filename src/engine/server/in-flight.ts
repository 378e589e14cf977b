// What a run keeps for its post step while a switch is in flight (the `switching` checkpoint).

import type { ReleaseRun } from '../../plan/release-command.js'
import type { DeployRecord } from '../../plan/history.js'

/** A switch that a killed run left unverified: the post step finishes it. */
export interface SwitchInFlight {
  /** deploy (when absent) or rollback */
  command?: string
  version: string
  previous: string
  target: string
  startedAt: string
  /** The deploy's release command ran (how it ended): a rollback first runs the rollback command. */
  released?: ReleaseRun
  /**
   * Several servers: those whose switch began, by name, with what each ran before and goes
   * back to. Absent: the one server, with `previous` and `target` above.
   */
  servers?: Record<string, { previous: string; target: string }>
  /**
   * The switch passed its checks (or skip-healthcheck waived them): the version stays. What is
   * left is bookkeeping: the post step appends this record (with each server's own `previous`)
   * and sets current_version, and never rolls back.
   */
  verified?: DeployRecord
}
