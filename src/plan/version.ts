// Versions are `<sha7>-<YYYYMMDD-HHMMSS>` (UTC): unique per deploy, sortable by time.

export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export function generateVersion(sha: string, now: Date): string {
  const short = sha.trim().slice(0, 7).toLowerCase()
  if (!/^[0-9a-f]{7}$/.test(short)) {
    throw new Error(`cannot make a version from commit "${sha}": expected a git SHA`)
  }
  const p = (n: number) => String(n).padStart(2, '0')
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`
  return `${short}-${date}-${time}`
}

/** The time embedded in a generated version, for ordering versions the history no longer lists. */
export function versionTimestamp(version: string): string | undefined {
  const m = /-(\d{8}-\d{6})$/.exec(version)
  return m?.[1]
}
