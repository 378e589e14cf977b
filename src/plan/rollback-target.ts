// Which version a rollback goes to, and which versions can still be restored. Pure.

import { lastRecordOf, releaseOf, type DeployRecord } from './history.js'
import { BACKUP_PREFIX, imageRepo } from './images.js'

/**
 * The version in service when it is known good (its last record is a success or a rollback,
 * or the history does not know it); otherwise the newest version whose last record is good.
 * So a version left in place by `no-rollback` is never the target of a later rollback.
 */
export function chooseRollbackTarget(current: string, history: DeployRecord[]): string | undefined {
  const last = new Map<string, DeployRecord>()
  for (const r of history) last.set(r.version, r)
  const good = (v: string) => {
    const r = last.get(v)
    return r === undefined || r.status !== 'failed'
  }
  if (current !== '' && good(current)) return current
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i]
    if (r && r.status !== 'failed' && good(r.version)) return r.version
  }
  return undefined
}

/** What the server holds: each image repository's tags, and the stored release folders. */
export interface ServerHoldings {
  tagsByRepo: Record<string, string[]>
  releases: string[]
}

/**
 * Why `version` cannot be put back, or undefined when it can: it must have a good last record
 * (a success or a rollback), its compose file stored, and each of its images on the server
 * (version or backup tag) or pullable again by the digest its record keeps.
 */
export function whyNotRestorable(
  history: DeployRecord[],
  version: string,
  project: string,
  services: string[],
  held: ServerHoldings
): string | undefined {
  const last = lastRecordOf(history, version)
  if (!last) return 'the history does not list it (it was pruned, or never deployed here)'
  if (last.status === 'failed') return 'its last record is a failed deploy'
  const release = releaseOf(history, version, services)
  if (release.services.length === 0) return 'its services are unknown (give the services input)'
  if (!held.releases.includes(version)) return 'its stored compose file is gone'
  const missing = release.services.filter(s => {
    const tags = held.tagsByRepo[imageRepo(project, s)] ?? []
    return !(
      tags.includes(version) ||
      tags.includes(`${BACKUP_PREFIX}${version}`) ||
      Boolean(release.images?.[s])
    )
  })
  if (missing.length > 0) {
    return `the server has no image of ${missing.map(s => imageRepo(project, s)).join(', ')} for it (neither :${version} nor :${BACKUP_PREFIX}${version}) and no digest to pull it again`
  }
  return undefined
}

/**
 * The versions a rollback can go to, newest first: every version of the history other than
 * the one in service that can be restored (see whyNotRestorable).
 */
export function restorableVersions(
  history: DeployRecord[],
  current: string,
  project: string,
  services: string[],
  held: ServerHoldings
): string[] {
  const seen = new Set<string>([current])
  const out: string[] = []
  for (let i = history.length - 1; i >= 0; i--) {
    const v = history[i]?.version
    if (v === undefined || seen.has(v)) continue
    seen.add(v)
    if (whyNotRestorable(history, v, project, services, held) === undefined) out.push(v)
  }
  return out
}

/**
 * The version `command: rollback` goes to without a version: the newest version recorded as a
 * success before the one in service (before its own newest success, so that after a rollback
 * to v2 the next one goes to v1, not back to v3).
 */
export function previousGoodVersion(history: DeployRecord[], current: string): string | undefined {
  let end = history.length
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]?.version === current && history[i]?.status === 'success') {
      end = i
      break
    }
  }
  for (let i = end - 1; i >= 0; i--) {
    const r = history[i]
    if (r && r.status === 'success' && r.version !== current) return r.version
  }
  return undefined
}
