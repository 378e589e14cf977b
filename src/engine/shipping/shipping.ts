// engine/shipping: the transfer methods (tar over SSH, registry, local), behind one interface.
//
// How a version's images reach the server, one implementation per method, chosen once:
// tar streams `docker save` over SSH, registry pushes from the runner and pulls on the server,
// local has nothing to move (the runner's engine is the server).

import type Docker from 'dockerode'
import type { DeployOptions, Method } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { imageRepo, versionTag } from '../../plan/images.js'
import { localImageId } from '../../docker/images.js'
import { checkLogin, pushImage, type RegistryAuth } from '../../docker/push.js'
import { transferImages, type Delivery } from './transfer.js'
import { pullAndTag } from './registry-pull.js'
import { serverHasImages } from '../stack/stack.js'
import type { Log, Phases } from '../io.js'

export interface Shipping {
  /** On the runner, before anything is built: check what the method needs (registry: the login). */
  prepare?(o: DeployOptions, docker: Docker, phases: Phases): Promise<void>
  /**
   * On the runner, after the build and before the server is touched (registry: push). Returns what the
   * history keeps to pull this version again: service → `<registry>/<repo>@sha256:…`.
   */
  publish?(
    o: DeployOptions,
    docker: Docker,
    phases: Phases,
    log: Log
  ): Promise<Record<string, string>>
  /**
   * Puts the version's images on the server's engine; returns the bytes sent over SSH (0: the
   * server had them), or undefined when they came another way (the registry).
   */
  deliver?(
    remote: Remote,
    o: DeployOptions,
    docker: Docker,
    images: Record<string, string> | undefined,
    log: Log
  ): Promise<Delivery | undefined>
}

/** Skips the delivery when the server already has this version's very images. */
async function unlessPresent(
  remote: Remote,
  o: DeployOptions,
  docker: Docker,
  log: Log,
  send: () => Promise<Delivery | undefined>
): Promise<Delivery | undefined> {
  const refs = o.services.map(s => versionTag(o.project, s.name, o.version))
  const ids = await Promise.all(refs.map(ref => localImageId(docker, ref)))
  if (await serverHasImages(remote, refs, ids)) {
    log.info(`the server already has every image of ${o.version}: nothing to send (0 bytes)`)
    return { bytes: 0 }
  }
  return send()
}

const tar: Shipping = {
  deliver: (remote, o, docker, _images, log) =>
    unlessPresent(remote, o, docker, log, () => transferImages(remote, o, docker, log))
}

function registryAuth(o: DeployOptions): RegistryAuth | undefined {
  const r = o.registry
  return r?.username && r.password !== undefined
    ? { username: r.username, password: r.password, serveraddress: r.host }
    : undefined
}

const registry: Shipping = {
  async prepare(o, docker, phases) {
    const auth = registryAuth(o)
    if (auth) await phases.run('login', () => checkLogin(docker, auth))
  },
  async publish(o, docker, phases, log) {
    const url = o.registry?.url
    if (!url) throw new Error('method registry needs the registry input')
    const auth = registryAuth(o)
    return phases.run('push', async () => {
      const images: Record<string, string> = {}
      for (const s of o.services) {
        const repo = `${url}/${imageRepo(o.project, s.name)}`
        const digest = await pushImage(
          docker,
          versionTag(o.project, s.name, o.version),
          repo,
          o.version,
          auth,
          line => log.info(line)
        )
        images[s.name] = `${repo}@${digest}`
        log.info(`pushed ${repo}:${o.version} (${digest})`)
      }
      return images
    })
  },
  deliver: (remote, o, docker, images, log) =>
    unlessPresent(remote, o, docker, log, async () => {
      const pulls = o.services.map(s => ({
        from: images?.[s.name] ?? '',
        to: versionTag(o.project, s.name, o.version)
      }))
      await pullAndTag(remote, o, pulls, log)
      return undefined
    })
}

const local: Shipping = {}

export function shippingFor(method: Method): Shipping {
  return { tar, registry, local }[method]
}
