// The transfer phase: `docker save | gzip` on the runner, streamed over SSH into `docker load`.

import { createGzip } from 'node:zlib'
import { Transform } from 'node:stream'
import type Docker from 'dockerode'
import type { DeployOptions } from '../config/options.js'
import { lastWords, type Remote } from '../remote/ssh.js'
import * as cmd from '../remote/commands.js'
import { saveImages } from '../docker/save.js'
import { versionTag } from '../plan/images.js'
import * as stack from './stack.js'
import type { Log } from './io.js'

// Fast gzip: the transfer is usually bound by the CPU on a small runner, not by the network.
const GZIP_LEVEL = 1
// Larger gzip output chunks than zlib's 16 KiB: fewer, fuller writes into the SSH channel.
// Measured with `npm run bench` (README): ~1.6-2.0x the shell pipeline's time at 16 KiB,
// ~1.1-1.6x at 128 KiB; 512 KiB was no faster.
const GZIP_CHUNK = 128 * 1024

/** Sends this version's images; returns the compressed bytes sent. */
export async function transferImages(
  remote: Remote,
  o: DeployOptions,
  docker: Docker,
  log: Log
): Promise<number> {
  const refs = o.services.map(s => versionTag(o.project, s.name, o.version))
  const tar = await saveImages(docker, refs)
  const gzip = createGzip({ level: GZIP_LEVEL, chunkSize: GZIP_CHUNK })
  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      done(null, chunk)
    }
  })
  tar.on('error', e => gzip.destroy(e))
  gzip.on('error', e => counter.destroy(e))
  tar.pipe(gzip).pipe(counter)
  const r = await remote.pipeInto(cmd.dockerLoad(), counter)
  if (r.code !== 0) {
    throw new Error(`docker load on the server failed (exit ${r.code}): ${lastWords(r)}`)
  }
  log.info(r.stdout.trim())
  for (const ref of refs) {
    if (!(await stack.imageExists(remote, ref))) {
      throw new Error(`after docker load, ${ref} is missing on the server`)
    }
  }
  log.info(`sent ${refs.length} image(s), ${(bytes / 1048576).toFixed(1)} MiB compressed`)
  return bytes
}
