// The files a release carries (the `files` input): gathered from the workspace and checked before
// anything is built, then sent as one tar stream into the release's folder on the server.

import { createReadStream, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import tar from 'tar-stream'
import type { DeployOptions } from '../../config/options.js'
import { InputError } from '../../config/input-error.js'
import {
  STORED_COMPOSE_FILE,
  clashOf,
  describeFiles,
  isInside,
  projectDirFor,
  type ReleaseFiles
} from '../../plan/release-paths.js'
import * as cmd from '../../remote/commands.js'
import { RemoteCommandError } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import type { Log } from '../io.js'

export interface FileEntry {
  /** Path in the release folder (forward slashes). */
  rel: string
  /** Where its content is read on the runner (symbolic links resolved). */
  source: string
  kind: 'file' | 'dir'
  size: number
  mode: number
}

export interface ReleaseFileSet {
  entries: FileEntry[]
  summary: ReleaseFiles
}

const refuse = (message: string) => new InputError('files', message)

/**
 * Every file and folder the `files` input names, folders walked, in a stable order. Refuses a
 * path that does not exist, a symbolic link that leads outside the workspace (or nowhere), and
 * anything that is not a file or folder. A symbolic link inside the workspace is shipped as what
 * it points to.
 */
export function collectReleaseFiles(
  o: Pick<DeployOptions, 'workspace' | 'files' | 'composeFile'>
): ReleaseFileSet {
  const root = realpathSync(o.workspace)
  const dir = projectDirFor(o.workspace, o.composeFile)
  const composeReal = realOrUndefined(o.composeFile)
  const entries = new Map<string, FileEntry>()

  const add = (rel: string, real: string, given: string, ancestors: string[]) => {
    const st = statSync(real)
    if (st.isDirectory()) {
      if (ancestors.includes(real)) return // a link back up the tree: already being walked
      entries.set(rel, { rel, source: real, kind: 'dir', size: 0, mode: 0o755 })
      for (const name of readdirSync(real).sort()) {
        const child = `${rel}/${name}`
        add(child, resolveInside(root, path.join(real, name), child, given), given, [
          ...ancestors,
          real
        ])
      }
      return
    }
    if (!st.isFile()) throw refuse(`"${given}": ${rel} is neither a file nor a folder`)
    // The compose file itself, listed at the top: it is stored under that name anyway.
    if (rel === STORED_COMPOSE_FILE && real === composeReal) return
    const clash = clashOf(rel, dir)
    if (clash) throw refuse(`"${given}": ${clash}`)
    entries.set(rel, { rel, source: real, kind: 'file', size: st.size, mode: fileMode(st.mode) })
  }

  for (const rel of o.files) {
    const abs = path.join(o.workspace, rel)
    try {
      lstatSync(abs)
    } catch {
      throw refuse(`"${rel}" does not exist in the workspace (${o.workspace})`)
    }
    add(rel, resolveInside(root, abs, rel, rel), rel, [])
  }

  const list = [...entries.values()]
  // Parents before children, so a folder's entry precedes its files in the archive.
  for (const e of list) {
    for (let p = path.posix.dirname(e.rel); p !== '.'; p = path.posix.dirname(p)) {
      if (!entries.has(p)) entries.set(p, { rel: p, source: '', kind: 'dir', size: 0, mode: 0o755 })
    }
  }
  const sorted = [...entries.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
  const files = sorted.filter(e => e.kind === 'file')
  return {
    entries: sorted,
    summary: { count: files.length, bytes: files.reduce((n, e) => n + e.size, 0), dir }
  }
}

/** The real path of `abs`, refused when it is a dangling link or lies outside `root`. */
function resolveInside(root: string, abs: string, rel: string, given: string): string {
  let real: string
  try {
    real = realpathSync(abs)
  } catch {
    throw refuse(`"${given}": ${rel} is a symbolic link that points nowhere`)
  }
  if (!isInside(root, real)) {
    throw refuse(
      `"${given}": ${rel} leads outside the workspace (to ${real}) through a symbolic link: every file must stay inside the workspace`
    )
  }
  return real
}

function realOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p)
  } catch {
    return undefined
  }
}

/** A file keeps its permission bits (a 0600 env file stays 0600), never writable by everyone. */
const fileMode = (mode: number) => mode & 0o777 & ~0o002

/** A tar stream of `entries`, each file read from disk as it is packed. */
export function packFiles(entries: readonly FileEntry[], mtime = new Date()): Readable {
  const pack = tar.pack()
  const add = (e: FileEntry) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve())
      if (e.kind === 'dir') {
        pack.entry({ name: `${e.rel}/`, type: 'directory', mode: e.mode, mtime }, done)
        return
      }
      const sink = pack.entry(
        { name: e.rel, type: 'file', size: e.size, mode: e.mode, mtime },
        done
      )
      createReadStream(e.source).on('error', reject).pipe(sink)
    })
  void (async () => {
    try {
      for (const e of entries) await add(e)
      pack.finalize()
    } catch (e) {
      pack.destroy(e as Error)
    }
  })()
  return pack
}

/** Sends the release's files into its folder on the server (or this machine, method local). */
export async function sendReleaseFiles(
  remote: Remote,
  o: Pick<DeployOptions, 'deployPath' | 'version'>,
  set: ReleaseFileSet,
  log: Log
): Promise<void> {
  const folder = cmd.releaseDir(o.deployPath, o.version)
  const argv = cmd.extractInto(folder)
  const r = await remote.pipeInto(argv, packFiles(set.entries))
  if (r.code !== 0) throw new RemoteCommandError(argv, r)
  log.info(`sent ${describeFiles(set.summary)} to ${folder}`)
}
