// Decides what a deploy leaves behind on the server: which image tags, release folders and
// history records stay. Pure: it only sees lists, and returns lists.

import type { DeployRecord } from './history.js'
import { BACKUP_PREFIX } from './images.js'
import { versionTimestamp } from './version.js'

export interface PruneInput {
  /** Existing tags of each service's image repository, e.g. { api: ['latest', 'v1', 'backup-v0'] }. */
  tagsByRepo: Record<string, string[]>
  /** Release folders present on the server (version names). */
  releases: string[]
  /** The whole history, oldest first. */
  history: DeployRecord[]
  keepVersions: number
  keepHistory: number
  /** Never removed: the version in service and the version a rollback would restore. */
  protectedVersions: string[]
}

export interface PrunePlan {
  /** Full image references to untag, e.g. `app-api:v1`. */
  removeTags: string[]
  removeReleases: string[]
  /** History to keep, oldest first. */
  history: DeployRecord[]
  /** Versions whose images are kept, newest first. */
  keptVersions: string[]
}

/** Versions ordered newest first: by their last deploy in the history, then by embedded time. */
export function orderVersions(versions: Iterable<string>, history: DeployRecord[]): string[] {
  const lastSeen = new Map<string, number>()
  history.forEach((r, i) => lastSeen.set(r.version, i))
  return [...new Set(versions)].sort((a, b) => {
    const ia = lastSeen.get(a) ?? -1
    const ib = lastSeen.get(b) ?? -1
    if (ia !== ib) return ib - ia
    const ta = versionTimestamp(a) ?? ''
    const tb = versionTimestamp(b) ?? ''
    if (ta !== tb) return ta < tb ? 1 : -1
    return a < b ? 1 : a > b ? -1 : 0
  })
}

export function planPrune(input: PruneInput): PrunePlan {
  const history = input.history.slice(Math.max(0, input.history.length - input.keepHistory))
  const protectedSet = new Set(input.protectedVersions.filter(v => v !== ''))

  const versionsWithImages = new Set<string>()
  for (const tags of Object.values(input.tagsByRepo)) {
    for (const tag of tags) {
      if (tag !== 'latest' && !tag.startsWith(BACKUP_PREFIX)) versionsWithImages.add(tag)
    }
  }
  const newest = orderVersions(versionsWithImages, input.history).slice(0, input.keepVersions)
  const keptVersions = new Set([...newest, ...protectedSet])

  // A backup is what lets a successful version come back after its own tag was pruned:
  // keep it while the history still lists that version as a success.
  const successful = new Set(history.filter(r => r.status === 'success').map(r => r.version))
  const keptBackups = new Set([...successful, ...protectedSet])

  const removeTags: string[] = []
  const stillPresent = new Set<string>()
  for (const [repo, tags] of Object.entries(input.tagsByRepo)) {
    for (const tag of tags) {
      if (tag === 'latest') continue
      const isBackup = tag.startsWith(BACKUP_PREFIX)
      const version = isBackup ? tag.slice(BACKUP_PREFIX.length) : tag
      const keep = isBackup ? keptBackups.has(version) : keptVersions.has(version)
      if (keep) stillPresent.add(version)
      else removeTags.push(`${repo}:${tag}`)
    }
  }

  // A registry version can be pulled again by its recorded digests: keep its compose file too.
  const pullable = new Set(history.filter(r => r.images).map(r => r.version))
  const removeReleases = input.releases.filter(
    v => !stillPresent.has(v) && !protectedSet.has(v) && !pullable.has(v)
  )
  return {
    removeTags,
    removeReleases,
    history,
    keptVersions: orderVersions(keptVersions, input.history).filter(v => versionsWithImages.has(v))
  }
}
