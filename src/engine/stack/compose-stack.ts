// The compose strategy: one host, `docker compose` (v2) or `docker-compose` (v1). The switch
// runs each start-first service beside its old containers behind the ingress (start-first.ts),
// then `compose up` recreates the others (stop-first); the server keeps every version's images
// under its tags.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import { runChecked } from '../../remote/ssh.js'
import type { Release } from '../../plan/history.js'
import { latestTag, versionTag } from '../../plan/images.js'
import { describeFiles, projectDirectoryOf } from '../../plan/release-paths.js'
import { stackPlan } from '../../plan/stack-plan.js'
import { judgeContainers } from '../../health/containers.js'
import type { StackStrategy } from './stack-strategy.js'
import { switchServices, type ServiceSwitch } from './start-first.js'
import { dropProjectRoutes, refuseRouteClashes, routesOf } from './ingress.js'
import * as stack from './stack.js'
import { errorMessage } from '../io.js'

export const composeStack: StackStrategy = {
  keepsImages: true,
  runsOneOffs: true,

  async switchTo(remote, o, flavor, release, composeContent, log) {
    if (flavor === 'swarm') throw new Error('the compose strategy was given a swarm')
    const target = await prepareCompose(remote, o, flavor, release, composeContent)
    const text = composeContent ?? (await runChecked(remote, cmd.readFile(target.file)))
    let services: ServiceSwitch[] | undefined
    // Routed services go through the ingress even without the input: see switchServices.
    const plan = stackPlan(text)
    if (plan.services.some(s => s.startFirst || s.route)) {
      services = await switchServices(remote, o, target, release, text, plan, log)
    } else {
      await stack.composeUp(remote, target)
      // A compose file that routes nothing any more takes the project's routes away.
      await dropProjectRoutes(remote, o.project, log)
    }
    for (const s of release.services) {
      await stack.tagImage(
        remote,
        versionTag(o.project, s, release.version),
        latestTag(o.project, s)
      )
    }
    return services ? { since: '', images: {}, services } : undefined
  },

  async preflight(remote, o, composeContent) {
    const routed = stackPlan(composeContent).services.flatMap(s =>
      s.route ? [{ service: s.name, route: s.route }] : []
    )
    await refuseRouteClashes(remote, o.project, routed)
  },

  async watch(remote, o, release) {
    return {
      expected: await stack.expectedImages(remote, o.project, release),
      containers: () => stack.containerStates(remote, o.project)
    }
  },

  suspects: (remote, o) => stack.containerStates(remote, o.project).catch(() => []),
  logsTail: stack.logsTail,

  async look(remote, o, release, _history, log) {
    const expected = await stack.expectedImages(remote, o.project, release).catch(e => {
      log.warn(`cannot read the images of ${release.version}: ${errorMessage(e)}`)
      return []
    })
    const containers = await stack.containerStates(remote, o.project)
    const routes = await routesOf(remote, o.project).catch((e: unknown) => {
      log.warn(`cannot read the ingress's routes: ${errorMessage(e)}`)
      return undefined
    })
    for (const r of routes ?? []) {
      log.info(
        `route ${r.hosts.join(', ')}${r.path ?? ''} → ${r.service}: ${r.upstreams.join(', ')}`
      )
    }
    return {
      verdict: judgeContainers(containers, expected),
      containers,
      ...(routes ? { routes } : {})
    }
  },

  home(o, release) {
    const directory = releaseProjectDirectory(o.deployPath, release)
    const files = release.files
      ? ` (the release's own folder: ${describeFiles(release.files)})`
      : ''
    return { directory, line: `compose project directory: ${directory}${files}` }
  }
}

/**
 * How compose runs `release` on the server: its stored compose file (uploaded first when
 * `composeContent` is given) in its project directory, which gets the server's `.env`.
 */
export async function prepareCompose(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  release: Release,
  composeContent: string | undefined
): Promise<cmd.ComposeTarget> {
  const file = cmd.releaseComposeFile(o.deployPath, release.version)
  if (composeContent !== undefined) await stack.uploadFile(remote, file, composeContent)
  const projectDirectory = releaseProjectDirectory(o.deployPath, release)
  // The server's secrets (.env in deploy-path) reach every release that has its own folder.
  if (release.files) await stack.linkServerEnv(remote, o.deployPath, projectDirectory)
  return { flavor, project: o.project, file, projectDirectory, version: release.version }
}

/** Where compose runs `release`: its own folder when it carried files, else deploy-path. */
export function releaseProjectDirectory(deployPath: string, release: Release): string {
  return projectDirectoryOf(deployPath, cmd.releaseDir(deployPath, release.version), release.files)
}
