// What the runner's buildx and builder can do, read from the output of `docker buildx version`
// and `docker buildx inspect` (buildx-commands.ts). Pure.

export interface Builder {
  name: string
  /** `docker`, `docker-container`, `remote`, `kubernetes`. */
  driver: string
  /** BuildKit's version as the builder reports it (`v0.8+unknown`, `v0.13.2`); '' when unknown. */
  buildkit: string
}

/** `github.com/docker/buildx v0.17.1 257815a` or Debian's `… 0.13.1+ds1 0.13.1+ds1-3`: `0.17.1`. */
export function parseBuildxVersion(output: string): string | undefined {
  return /^\S+\s+v?(\d+\.\d+\.\d+)/m.exec(output)?.[1]
}

/**
 * `docker buildx inspect`: the builder's name, driver and its first node's BuildKit version
 * (labelled `BuildKit version:` by recent buildx, `Buildkit:` by older ones).
 */
export function parseBuildxInspect(output: string): Builder | undefined {
  const field = (label: RegExp) => label.exec(output)?.[1]?.trim() ?? ''
  const name = field(/^Name:\s*(.+)$/m)
  const driver = field(/^Driver:\s*(.+)$/m)
  if (name === '' || driver === '') return undefined
  return { name, driver, buildkit: field(/^(?:BuildKit version|Buildkit):\s*(.+)$/m) }
}

/** True when `version` (`v0.13.2`, `0.8+unknown`) is at least major.minor. */
export function buildkitAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version)
  if (!m) return false
  const [have, haveMinor] = [Number(m[1]), Number(m[2])]
  return have > major || (have === major && haveMinor >= minor)
}

/** `rewrite-timestamp=true` makes layers reproducible from BuildKit 0.13 on. */
export const rewritesTimestamps = (b: Builder): boolean => buildkitAtLeast(b.buildkit, 0, 13)

/**
 * Whether the builder can export a `--cache-to` of this type. The docker driver exports inline
 * only: buildx refuses the others ("Cache export is not supported for the docker driver"), but
 * type=gha only in a job with ACTIONS_CACHE_URL; elsewhere it drops that line without a word.
 */
export function exportsCache(b: Builder, type: string): boolean {
  return b.driver !== 'docker' || type === 'inline'
}
