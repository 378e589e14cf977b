// The build context sent to the engine: the files of the context folder that `.dockerignore`
// does not exclude, as a tar stream. The Dockerfile and .dockerignore are always sent, as docker does.

import { readdirSync, readFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import dockerignoreModule from '@balena/dockerignore'
import tar from 'tar-fs'

// A CommonJS module whose typings declare an ES default export: at run time the import is the factory.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default

function walk(root: string, dir = ''): string[] {
  const files: string[] = []
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`
    if (entry.isDirectory()) files.push(...walk(root, rel))
    else files.push(rel)
  }
  return files
}

/** Relative paths (with `/`) of the files to send, sorted. */
export function contextFiles(context: string, dockerfile: string): string[] {
  const ignoreFile = path.join(context, '.dockerignore')
  const all = walk(context)
  const dockerfileRel = path.posix.normalize(dockerfile.split(path.sep).join('/'))
  let kept = all
  if (existsSync(ignoreFile)) {
    const filter = dockerignore({ ignorecase: false })
      .add(readFileSync(ignoreFile, 'utf8'))
      .createFilter()
    kept = all.filter(f => filter(f) || f === dockerfileRel || f === '.dockerignore')
  }
  return kept.sort()
}

/**
 * The context as a tar stream; with `fileTime` (seconds) every entry carries that time instead of
 * its checkout's, so that a fresh clone's COPY layers are the same as the last clone's.
 */
export function packContext(context: string, dockerfile: string, fileTime?: number): Readable {
  const entries = contextFiles(context, dockerfile)
  if (fileTime === undefined) return tar.pack(context, { entries })
  const mtime = new Date(fileTime * 1000)
  return tar.pack(context, { entries, map: header => ({ ...header, mtime }) })
}
