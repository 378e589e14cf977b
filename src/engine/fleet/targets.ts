// The servers a command runs on: one per line of `host`, each with options of its own (its
// `ssh`), named as the logs, outputs and summary name it.

import type { DeployOptions } from '../../config/options.js'
import { serverName } from '../../config/parse-servers.js'

export interface Target {
  /** `host` or `host:port`; `local` with method local. */
  name: string
  /** The command's options with this server's `ssh` (and it alone in `servers`). */
  o: DeployOptions
}

/** The servers of `o`, in the order of `host`: the first is the canary. */
export function targetsOf(o: DeployOptions): Target[] {
  const ssh = o.ssh
  if (!ssh) return [{ name: 'local', o }]
  const servers = o.servers ?? []
  if (servers.length <= 1) return [{ name: serverName(ssh), o }]
  return servers.map(s => ({
    name: serverName(s),
    o: {
      ...o,
      ssh: { ...ssh, host: s.host, port: s.port, fingerprints: s.fingerprints },
      servers: [s]
    }
  }))
}

/** The first server, then the others in groups of `maxParallel` (0: all of them at once). */
export function switchOrder<T>(servers: T[], maxParallel = 0): T[][] {
  const [first, ...rest] = servers
  if (first === undefined) return []
  const size = maxParallel > 0 ? maxParallel : Math.max(rest.length, 1)
  const groups: T[][] = [[first]]
  for (let i = 0; i < rest.length; i += size) groups.push(rest.slice(i, i + size))
  return groups
}
