// A version name is an identity: deploying again a version that is in service, or that was
// recorded as a success, under other images would leave no way back to it (its tags would move
// to the new images). Pure: which versions clash, whether the images are the same, and the
// refusal's words.

import type { DeployRecord } from './history.js'

export type VersionClash =
  /** The version in service. */
  | { kind: 'in-service' }
  /** An earlier version recorded as a success (finished at `at`). */
  | { kind: 'succeeded'; at: string }

/** How `version` clashes with what the server ran; undefined when it is new or only failed. */
export function versionClash(
  version: string,
  current: string,
  history: readonly DeployRecord[]
): VersionClash | undefined {
  if (version === current) return { kind: 'in-service' }
  const good = [...history]
    .reverse()
    .find(r => r.version === version && (r.status === 'success' || r.status === 'rollback'))
  return good ? { kind: 'succeeded', at: good.finished_at } : undefined
}

/**
 * Whether every service's image this run would ship (`built`, service → image ID or digest) is
 * the one the clashing version has on the server (`held`, the same; undefined when unknown).
 */
export function sameImages(
  built: Record<string, string | undefined>,
  held: Record<string, string | undefined>
): boolean {
  const services = Object.keys(built)
  return (
    services.length > 0 &&
    services.every(s => built[s] !== undefined && built[s] === held[s]) &&
    Object.keys(held).every(s => s in built)
  )
}

/**
 * Why a clashing version is refused (the message of an error on the input `version`): what
 * differs is its `images`, or, the images being the same, its stored compose file.
 */
export function clashRefusal(
  version: string,
  clash: VersionClash,
  where: string,
  differs: 'images' | 'compose file' = 'images'
): string {
  const was =
    clash.kind === 'in-service'
      ? `${version} is the version in service${where}`
      : `${version} was deployed successfully before${where} (${clash.at})`
  const lost =
    differs === 'images'
      ? 'would move its tags to the new images'
      : 'would replace the compose file it is restored with'
  return `${was}, with other ${differs === 'images' ? 'images' : 'compose file'} than this run's: deploying it again under the same name ${lost} and leave no way back to it. Nothing was changed on the server. Deploy under a new version name (leave version empty for <sha7>-<time>), or roll back to ${version} by name (command: rollback).`
}
