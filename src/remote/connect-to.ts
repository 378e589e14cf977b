// Chooses the Remote once, at the edge: over SSH to the server, or this machine (method local).

import type { SshOptions } from '../config/options.js'
import { connect } from './ssh.js'
import type { Remote } from './remote.js'
import { localRemote } from './local.js'

export function connectTo(o: { ssh?: SshOptions }, warn: (m: string) => void): Promise<Remote> {
  return o.ssh ? connect(o.ssh, warn) : Promise.resolve(localRemote())
}
