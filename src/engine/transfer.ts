// The transfer phase: `docker save | gzip` (or no compression: input `compression`) on the
// runner, streamed over SSH into `docker load`, without the layers the server already holds.
// The server is asked for the layers of its images; when it has some of this version's, the
// archive is saved once into a temporary file on the runner while it is read for its manifest
// and configs (which layer file is which layer), then streamed from there without those files.
// Should the server refuse that partial archive (an engine whose image store needs every blob,
// a layer pruned since it was counted), every layer is sent from the same file, with a warning.

import { createGzip } from 'node:zlib'
import { Transform, type Readable } from 'node:stream'
import type Docker from 'dockerode'
import type { Compression, DeployOptions } from '../config/options.js'
import { lastWords, type ExecResult, type Remote } from '../remote/ssh.js'
import * as cmd from '../remote/commands.js'
import { saveImages } from '../docker/save.js'
import { withoutFiles } from '../docker/archive.js'
import { spool, type SpooledArchive } from '../docker/spooled-save.js'
import { imageLayers } from '../docker/images.js'
import { chainIds, layerFilesToSkip } from '../plan/layers.js'
import { versionTag } from '../plan/images.js'
import * as stack from './stack.js'
import { errorMessage, type Log } from './io.js'

// Fast gzip: the transfer is usually bound by the CPU on a small runner, not by the network.
const GZIP_LEVEL = 1
// Larger gzip output chunks than zlib's 16 KiB: fewer, fuller writes into the SSH channel.
// Measured with `npm run bench` (README): ~1.6-2.0x the shell pipeline's time at 16 KiB,
// ~1.1-1.6x at 128 KiB; 512 KiB was no faster.
const GZIP_CHUNK = 128 * 1024
const PROGRESS_EVERY_MS = 5000

/**
 * The stage that packs the archive for the wire, per input `compression`; none for `none`.
 * `docker load` recognises a gzip stream by itself, so the server runs the same command.
 */
const PACKERS: Record<Compression, () => Transform | undefined> = {
  gzip: () => createGzip({ level: GZIP_LEVEL, chunkSize: GZIP_CHUNK }),
  none: () => undefined
}

/** What the transfer sent: compressed bytes, and a line for the job summary. */
export interface Delivery {
  bytes: number
  note?: string
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`

/** Sends this version's images, leaving out the layers the server holds. */
export async function transferImages(
  remote: Remote,
  o: DeployOptions,
  docker: Docker,
  log: Log
): Promise<Delivery> {
  const refs = o.services.map(s => versionTag(o.project, s.name, o.version))
  // The engine starts the export (it takes a while before the first byte) while the server is
  // asked which layers it holds.
  const saving = saveImages(docker, refs)
  // Its error, if any, is the one of `await saving` below (not an unhandled rejection before).
  saving.catch(() => undefined)
  const [layers, onServer] = await Promise.all([
    Promise.all(refs.map(ref => imageLayers(docker, ref))),
    stack.layerChains(remote)
  ]).catch((e: unknown) => {
    void saving.then(
      s => s.destroy(),
      () => undefined
    )
    throw e
  })
  const saved = await saving
  const reusable = layers.some(l => chainIds(l.diffIds).some(c => onServer.has(c)))
  const estimate = sum(layers.map(l => l.size))
  if (!reusable) return { bytes: await sendAll(remote, o, saved, refs, estimate, log) }
  // Which file is which layer: the manifest and configs come at the end of the archive, so it
  // is saved once into a temporary file on the runner, and sent from there.
  let archive: SpooledArchive
  try {
    archive = await spool(saved)
  } catch (e) {
    log.warn(
      `cannot keep the archive in a temporary file (${errorMessage(e)}); sending every layer`
    )
    return { bytes: await sendAll(remote, o, await saveImages(docker, refs), refs, estimate, log) }
  }
  try {
    return await sendWithout(remote, o, archive, refs, onServer, log)
  } finally {
    await archive.remove()
  }
}

/** Sends a spooled archive without the layer files whose chains the server holds. */
async function sendWithout(
  remote: Remote,
  o: DeployOptions,
  archive: SpooledArchive,
  refs: string[],
  onServer: Set<string>,
  log: Log
): Promise<Delivery> {
  const { images, sizes } = archive.contents
  const skip = layerFilesToSkip(images, onServer)
  const files = new Set(images.flatMap(i => i.layers))
  const size = (names: Iterable<string>) =>
    [...names].reduce((total, n) => total + (sizes.get(n) ?? 0), 0)
  const total = size(sizes.keys())
  if (skip.length === 0) {
    return { bytes: await sendAll(remote, o, archive.open(), refs, total, log) }
  }
  log.info(
    `the server holds ${skip.length} of ${files.size} layer(s) (${mib(size(skip))}): leaving them out`
  )
  const partial = await send(
    remote,
    o,
    archive.open(),
    new Set(skip),
    refs,
    total - size(skip),
    log
  )
  if (partial.result.code === 0) {
    await checkLoaded(remote, refs, partial.result, log)
    return {
      bytes: partial.bytes,
      note: `${mib(partial.bytes)} for ${mib(total - size(skip))} of ${mib(total)}: ${skip.length} of ${files.size} layer(s) already on the server`
    }
  }
  log.warn(
    `the server refused the archive without the layers it holds (docker load exit ${partial.result.code}: ${lastWords(partial.result, 3)}); sending every layer`
  )
  const full = await sendAll(remote, o, archive.open(), refs, total, log)
  return {
    bytes: partial.bytes + full,
    note: `${mib(partial.bytes + full)}: every layer, after the server refused a partial archive`
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

async function sendAll(
  remote: Remote,
  o: DeployOptions,
  archive: Readable,
  refs: string[],
  estimate: number,
  log: Log
): Promise<number> {
  const { bytes, result } = await send(remote, o, archive, new Set(), refs, estimate, log)
  if (result.code !== 0) {
    throw new Error(`docker load on the server failed (exit ${result.code}): ${lastWords(result)}`)
  }
  await checkLoaded(remote, refs, result, log)
  return bytes
}

async function checkLoaded(remote: Remote, refs: string[], result: ExecResult, log: Log) {
  log.info(result.stdout.trim())
  for (const ref of refs) {
    if (!(await stack.imageExists(remote, ref))) {
      throw new Error(`after docker load, ${ref} is missing on the server`)
    }
  }
}

/** One stream of `saved` (less the files in `leaveOut`) into `docker load`; the bytes sent. */
async function send(
  remote: Remote,
  o: DeployOptions,
  saved: Readable,
  leaveOut: Set<string>,
  refs: string[],
  expected: number,
  log: Log
): Promise<{ bytes: number; result: ExecResult }> {
  const archive = leaveOut.size > 0 ? withoutFiles(saved, leaveOut) : saved
  const progress = new Progress(expected, log)
  const packer = PACKERS[o.compression]()
  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      progress.sent = bytes
      done(null, chunk)
    }
  })
  pipeAll([archive, progress.meter, ...(packer ? [packer] : []), counter])
  try {
    const result = await remote.pipeInto(cmd.dockerLoad(), counter)
    log.info(`sent ${refs.length} image(s), ${mib(bytes)} (compression: ${o.compression})`)
    return { bytes, result }
  } finally {
    progress.stop()
    // A load that failed early leaves the archive unread: release the engine's response (or
    // the file).
    saved.destroy()
  }
}

/** Pipes each stream into the next; an error anywhere ends the last one with it. */
function pipeAll(streams: (Readable | Transform)[]): void {
  const last = streams[streams.length - 1] as Transform
  for (let i = 0; i + 1 < streams.length; i++) {
    const from = streams[i] as Readable
    from.on('error', e => last.destroy(e))
    from.pipe(streams[i + 1] as Transform)
  }
}

/**
 * A plain log line every 5 s while a transfer lasts (Actions logs are no terminal): archive
 * bytes read of the expected size, compressed bytes sent, rate and time left.
 */
class Progress {
  read = 0
  sent = 0
  readonly meter: Transform
  private readonly timer: NodeJS.Timeout
  private readonly start = Date.now()

  constructor(
    private readonly expected: number,
    log: Log
  ) {
    this.meter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.read += chunk.length
        done(null, chunk)
      }
    })
    this.timer = setInterval(() => log.info(this.line()), PROGRESS_EVERY_MS)
    this.timer.unref()
  }

  line(): string {
    const seconds = (Date.now() - this.start) / 1000
    const rate = this.read / seconds
    const left = rate > 0 ? Math.max(0, (this.expected - this.read) / rate) : 0
    return `transfer: ${mib(this.read)} of ~${mib(this.expected)} read, ${mib(this.sent)} sent, ${mib(rate)}/s, about ${Math.ceil(left)} s left`
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
