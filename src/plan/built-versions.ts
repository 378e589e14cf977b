// Which version `skip-build` ships: the one given, or the newest one built for every service. Pure.

import { BACKUP_PREFIX } from './images.js'

/** For each service, its image's tags on the runner and when each was created (seconds). */
export type BuiltTags = Map<string, Map<string, number>>

const isVersionTag = (tag: string) => tag !== 'latest' && !tag.startsWith(BACKUP_PREFIX)

/** The newest version tag that every service has: by its newest image, then by name. */
export function newestBuiltVersion(built: BuiltTags): string | undefined {
  const services = [...built.values()]
  const first = services[0]
  if (!first) return undefined
  const common = [...first.keys()].filter(t => isVersionTag(t) && services.every(s => s.has(t)))
  const created = (v: string) => Math.max(...services.map(s => s.get(v) ?? 0))
  return common.sort((a, b) => created(b) - created(a) || (a < b ? 1 : a > b ? -1 : 0))[0]
}

/** The services that have no image tagged `version`. */
export function servicesWithout(built: BuiltTags, version: string): string[] {
  return [...built].filter(([, tags]) => !tags.has(version)).map(([service]) => service)
}
