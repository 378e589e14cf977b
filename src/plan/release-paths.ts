// The rules for the `files` input (the configuration shipped with each release) and where a
// release's files put compose's project directory. Pure: paths only, no file system.

import path from 'node:path'
import { InputError } from '../config/input-error.js'
import { lines } from '../config/values.js'

/** What a release carried, as its history records keep it. */
export interface ReleaseFiles {
  /** Regular files sent (folders are walked; a folder itself is not counted). */
  count: number
  bytes: number
  /**
   * Compose's project directory inside the release folder: the compose file's folder relative
   * to the workspace ('.' at its top), so relative paths resolve as they do on the runner.
   */
  dir: string
}

/** The name the server's secrets file has in `deploy-path`, linked into each release. */
export const SERVER_ENV_FILE = '.env'
/** The stored compose file of a release, at the top of its folder. */
export const STORED_COMPOSE_FILE = 'docker-compose.yml'

/**
 * The `files` input: one path a line, relative to the workspace, normalised to forward slashes
 * without `./`. Refuses what could land outside the release folder (absolute paths, `..`) and
 * the workspace itself; duplicates are dropped.
 */
export function parseFiles(text: string): string[] {
  const out: string[] = []
  for (const line of lines(text)) {
    const given = line.replace(/\\/g, '/')
    if (given.startsWith('/') || /^[A-Za-z]:\//.test(given)) {
      throw new InputError(
        'files',
        `"${line}" is an absolute path: give paths relative to the workspace`
      )
    }
    if (given.split('/').includes('..')) {
      throw new InputError(
        'files',
        `"${line}" contains "..": every path must stay inside the workspace`
      )
    }
    const rel = path.posix.normalize(given).replace(/\/+$/, '')
    if (rel === '.' || rel === '') {
      throw new InputError(
        'files',
        `"${line}" is the whole workspace: name the files or folders a release needs`
      )
    }
    if (!out.includes(rel)) out.push(rel)
  }
  return out
}

/** True when `target` is `root` or inside it (both absolute, resolved). */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

/**
 * The project directory inside a release folder for a compose file at `composeFile` (absolute):
 * its folder relative to the workspace, or '.' when it lies outside the workspace.
 */
export function projectDirFor(workspace: string, composeFile: string): string {
  const dir = path.dirname(composeFile)
  if (!isInside(workspace, dir)) return '.'
  return path.relative(workspace, dir).split(path.sep).join('/') || '.'
}

/**
 * Why a file at `rel` (workspace-relative, forward slashes) may not be shipped, or undefined.
 * It may not take the place of the release's stored compose file, nor of the link to the
 * server's `.env` in the project directory: secrets stay on the server.
 */
export function clashOf(rel: string, projectDir: string): string | undefined {
  if (rel === STORED_COMPOSE_FILE) {
    return `${rel} would replace the release's stored compose file (the compose-file input is stored under that name): rename it or leave it out`
  }
  const envAt = projectDir === '.' ? SERVER_ENV_FILE : `${projectDir}/${SERVER_ENV_FILE}`
  if (rel === envAt) {
    return `${rel} would hide the server's ${SERVER_ENV_FILE}: secrets belong in ${SERVER_ENV_FILE} in deploy-path on the server, which every release reads; leave it out of files`
  }
  return undefined
}

/** Compose's project directory for a release: its folder (with files) or deploy-path. */
export function projectDirectoryOf(
  deployPath: string,
  releaseFolder: string,
  files: ReleaseFiles | undefined
): string {
  if (!files) return deployPath
  return files.dir === '.' ? releaseFolder : `${releaseFolder}/${files.dir}`
}

const UNITS = ['B', 'kB', 'MB', 'GB']

/** `3 files, 1.2 kB` */
export function describeFiles(files: ReleaseFiles): string {
  let size = files.bytes
  let unit = 0
  while (size >= 1000 && unit < UNITS.length - 1) {
    size /= 1000
    unit++
  }
  const amount = unit === 0 ? String(size) : size.toFixed(1)
  return `${files.count} file${files.count === 1 ? '' : 's'}, ${amount} ${UNITS[unit]}`
}
