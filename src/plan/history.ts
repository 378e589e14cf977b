// The deployment history kept in `<deploy-path>/.deploy/versions.log`: one JSON object a line.

import { describeFiles, type ReleaseFiles } from './release-paths.js'
import type { ReleaseRun } from './release-command.js'

export type RecordStatus = 'success' | 'failed' | 'rollback'

export interface DeployRecord {
  version: string
  status: RecordStatus
  method: string
  commit: string
  previous: string
  started_at: string
  finished_at: string
  run_url?: string
  actor?: string
  /** The services (images `<project>-<service>`) of this version. */
  services?: string[]
  /** Registry deploys: service → `<registry>/<project>-<service>@sha256:…`, to pull it again. */
  images?: Record<string, string>
  /** The files shipped with it (the `files` input): its folder is compose's project directory. */
  files?: ReleaseFiles
  /** The release command this run ran for the version (release-command), and how it ended. */
  release?: ReleaseRun
  /** A rollback: the rollback command run with the version it left, and how it ended. */
  undo?: ReleaseRun
}

/** A version as the server knows it: what a record says, and what it takes to restore it. */
export interface Release {
  version: string
  services: string[]
  images?: Record<string, string>
  files?: ReleaseFiles
  /** The commit and method it was deployed with, when the history knows them. */
  commit?: string
  method?: string
}

/** Facts of the run that every record carries. */
export interface RunFacts {
  method: string
  commit: string
  startedAt: string
  runUrl?: string
  actor?: string
}

/** The run facts of a run that started at `startedAt`, taken from its options. */
export function runFacts(
  o: { method: string; commit: string; runUrl?: string; actor?: string },
  startedAt: string
): RunFacts {
  return { method: o.method, commit: o.commit, startedAt, runUrl: o.runUrl, actor: o.actor }
}

/**
 * A record of `release` made by this run. The commit and method are the release's own when it
 * has them (a rollback puts back an older commit), else the run's. `ran`: the release or rollback
 * command this run ran for it.
 */
export function newRecord(
  run: RunFacts,
  status: RecordStatus,
  release: Release,
  previous: string,
  finishedAt: string,
  ran: Pick<DeployRecord, 'release' | 'undo'> = {}
): DeployRecord {
  return {
    version: release.version,
    status,
    method: release.method ?? run.method,
    commit: release.commit ?? run.commit,
    previous,
    started_at: run.startedAt,
    finished_at: finishedAt,
    ...(run.runUrl ? { run_url: run.runUrl } : {}),
    ...(run.actor ? { actor: run.actor } : {}),
    ...(release.services.length > 0 ? { services: release.services } : {}),
    ...(release.images ? { images: release.images } : {}),
    ...(release.files ? { files: release.files } : {}),
    ...(ran.release ? { release: ran.release } : {}),
    ...(ran.undo ? { undo: ran.undo } : {})
  }
}

/** The release command run when `version` was deployed, when one ran and succeeded. */
export function releaseRanFor(
  history: readonly DeployRecord[],
  version: string
): ReleaseRun | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i]
    if (r?.version === version && r.release) return r.release.exit === 0 ? r.release : undefined
  }
  return undefined
}

/** Whether `a` was first deployed before `b` (by the history's order; unknown counts as older). */
export function deployedBefore(history: readonly DeployRecord[], a: string, b: string): boolean {
  const first = (v: string) => history.findIndex(r => r.version === v)
  return first(a) < first(b)
}

/** The newest record of `version`, if the history has one. */
export function lastRecordOf(
  history: readonly DeployRecord[],
  version: string
): DeployRecord | undefined {
  for (let i = history.length - 1; i >= 0; i--)
    if (history[i]?.version === version) return history[i]
  return undefined
}

/**
 * `version` as its records describe it: commit and method from the newest one; services and
 * registry digests from the newest that has them (`services` for records written before
 * they were recorded).
 */
export function releaseOf(
  history: readonly DeployRecord[],
  version: string,
  services: string[]
): Release {
  const records = history.filter(r => r.version === version).reverse()
  const newest = records[0]
  const known = records.find(r => r.services && r.services.length > 0)?.services
  const images = records.find(r => r.images)?.images
  const files = records.find(r => r.files)?.files
  return {
    version,
    services: known ?? services,
    ...(images ? { images } : {}),
    ...(files ? { files } : {}),
    ...(newest ? { commit: newest.commit, method: newest.method } : {})
  }
}

export interface ParsedHistory {
  /** Oldest first, as in the file. */
  records: DeployRecord[]
  /** 1-based numbers of lines that were not valid records (skipped, never fatal). */
  damagedLines: number[]
}

const STATUSES: readonly string[] = ['success', 'failed', 'rollback']

function isRecord(value: unknown): value is DeployRecord {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.version === 'string' &&
    r.version !== '' &&
    typeof r.status === 'string' &&
    STATUSES.includes(r.status)
  )
}

export function parseHistory(text: string): ParsedHistory {
  const records: DeployRecord[] = []
  const damagedLines: number[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      const value: unknown = JSON.parse(line)
      if (isRecord(value)) records.push(value)
      else damagedLines.push(i + 1)
    } catch {
      damagedLines.push(i + 1)
    }
  })
  return { records, damagedLines }
}

/** One line of versions.log; a newline inside a value is escaped by JSON, so a record is always one line. */
export function serializeRecord(record: DeployRecord): string {
  return JSON.stringify(record)
}

export function serializeHistory(records: readonly DeployRecord[]): string {
  return records.map(r => serializeRecord(r) + '\n').join('')
}

/** The newest `count` records, newest first. */
export function newestFirst(records: readonly DeployRecord[], count: number): DeployRecord[] {
  return records.slice(Math.max(0, records.length - count)).reverse()
}

export const STATUS_SYMBOL: Record<RecordStatus, string> = {
  success: '✔',
  failed: '✖',
  rollback: '↩'
}

/** `✔ e4534e6-20251011-143052 - 2025-10-11T14:30:52Z (via tar)`, as the original scripts printed. */
export function renderHistoryLine(record: DeployRecord): string {
  const via = record.status === 'rollback' ? 'rollback' : record.method
  const when = record.finished_at || record.started_at
  const files = record.files ? ` [${describeFiles(record.files)}]` : ''
  const ran = (what: string, run?: ReleaseRun) =>
    run ? ` [${what} ${run.command}: ${run.timed_out ? 'timed out' : `exit ${run.exit}`}]` : ''
  return `${STATUS_SYMBOL[record.status]} ${record.version} - ${when} (via ${via})${files}${ran('release', record.release)}${ran('undone by', record.undo)}`
}

export function renderHistory(newestFirstRecords: readonly DeployRecord[]): string {
  if (newestFirstRecords.length === 0) return 'No deployments recorded yet.'
  return ['Recent deployments:', ...newestFirstRecords.map(r => `  ${renderHistoryLine(r)}`)].join(
    '\n'
  )
}
