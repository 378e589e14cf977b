// A server's run of a deploy from v1 to v2, for unit tests of the steps after the switch: its
// session answers through `remote`, never loses its lock, and never needs to connect again.

import type { DeployOptions } from '../../src/config/options.js'
import type { DeployRecord } from '../../src/plan/history.js'
import type { Remote } from '../../src/remote/remote.js'
import type { ServerSession } from '../../src/engine/server/session.js'
import type { ServerRun } from '../../src/engine/steps/deploy-steps.js'
import { Phases, type Log } from '../../src/engine/io.js'

export function fakeRun(given: {
  name: string
  o: DeployOptions
  remote: Remote
  log: Log
  history: DeployRecord[]
  startedAt: string
  now: () => Date
  switched?: boolean
}): ServerRun {
  const { name, o, remote, log, history, startedAt, now } = given
  const s: ServerSession = {
    name,
    o,
    log,
    phases: new Phases(log),
    remote,
    state: { currentVersion: 'v1', currentMethod: 'tar', history, damagedLines: [] },
    flavor: 'v2',
    lockLost: () => undefined,
    reconnectIfLost: () => Promise.resolve()
  }
  return {
    s,
    previous: 'v1',
    target: 'v1',
    history: [...history],
    attempt: {
      release: { version: 'v2', services: ['api'] },
      previous: 'v1',
      facts: { method: 'tar', commit: 'abc', startedAt },
      now
    },
    switched: given.switched ?? false
  }
}
