// Bringing images from the registry onto the server: pulled by digest with a throw-away login,
// then tagged `<project>-<service>:<version>` like every other method's images.

import type { DeployOptions } from '../../config/options.js'
import { lastWords } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import * as stack from '../stack/stack.js'
import type { Log } from '../io.js'

export interface Pull {
  /** `<registry>/<repo>@sha256:…` */
  from: string
  /** `<project>-<service>:<version>` */
  to: string
}

const hostOf = (ref: string) => ref.split('/')[0] ?? ''

/**
 * Pulls each `from` and tags it `to`. The login (when the options have credentials for that
 * registry) lives in a temporary Docker config on the server, removed by the same command.
 */
export async function pullAndTag(
  remote: Remote,
  o: Pick<DeployOptions, 'registry'>,
  pulls: Pull[],
  log: Log
): Promise<void> {
  const byHost = new Map<string, Pull[]>()
  for (const p of pulls) byHost.set(hostOf(p.from), [...(byHost.get(hostOf(p.from)) ?? []), p])
  for (const [host, group] of byHost) {
    const login = o.registry?.host === host ? o.registry : undefined
    const argv = cmd.registryPull(
      host,
      login?.username ?? '',
      group.map(p => p.from)
    )
    const r = await remote.run(argv, login?.password ?? '')
    if (r.code !== 0) {
      throw new Error(
        `pulling from ${host} on the server failed (exit ${r.code}): ${lastWords(r, 5)}`
      )
    }
    for (const p of group) {
      await stack.tagImage(remote, p.from, p.to)
      // The digest reference would keep the image after pruning removes its version tag.
      await remote.run(cmd.removeImages([p.from]))
      log.info(`${p.from} → ${p.to}`)
    }
  }
}
