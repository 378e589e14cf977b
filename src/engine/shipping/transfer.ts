// The transfer phase: `docker save | gzip` (or no compression: input `compression`) on the
// runner, streamed over SSH into `docker load`, without the layers the server already holds.
// While the server is asked which layers it holds, the engine starts the export and the server
// its `docker load` (both take a while before the first byte). Nothing is written to the
// runner's disk:
// - The usual redeploy (the server holds every layer of the images but their top ones): the
//   lower layers' files are left out as the export streams (docker/archive.ts).
// - Otherwise which file is which layer is known only at the archive's end (manifest.json, the
//   image configs): that export is read for it, while a second one waits to be sent without
//   the files of the layers the server holds.
// Should the server refuse a partial archive (an engine whose image store needs every blob, a
// layer pruned since it was counted), every layer follows from a new export, with a warning.

import { createGzip } from 'node:zlib'
import { PassThrough, Transform, type Readable } from 'node:stream'
import type Docker from 'dockerode'
import type { Compression, DeployOptions } from '../../config/options.js'
import { lastWords } from '../../remote/ssh.js'
import type { ExecResult, Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import { saveImages } from '../../docker/save.js'
import {
  readArchive,
  withoutFiles,
  withoutLowerLayers,
  type ArchiveContents
} from '../../docker/archive.js'
import { imageLayers } from '../../docker/images.js'
import { chainIds, heldLowerLayers, layerFilesToSkip } from '../../plan/layers.js'
import { versionTag } from '../../plan/images.js'
import * as stack from '../stack/stack.js'
import type { Log } from '../io.js'

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

/** A `docker load` running on the server, fed from `input` once its archive is ready. */
interface Load {
  input: PassThrough
  result: Promise<ExecResult>
}

/**
 * The exports (`docker save`) and loads of one transfer. When it fails, whatever is still open
 * is released: the engine's responses, and loads left without their archive (they load
 * nothing and fail).
 */
class Exchange {
  private readonly saves: Promise<Readable>[] = []
  private readonly loads: Load[] = []

  constructor(
    private readonly remote: Remote,
    private readonly docker: Docker,
    readonly refs: string[]
  ) {}

  save(): Promise<Readable> {
    const saving = saveImages(this.docker, this.refs)
    // Its error, if any, is the one of whoever awaits it (not an unhandled rejection before).
    saving.catch(() => undefined)
    this.saves.push(saving)
    return saving
  }

  load(): Load {
    const input = new PassThrough()
    // Released before the channel is open, nothing listens to it yet.
    input.on('error', () => undefined)
    const result = this.remote.pipeInto(cmd.dockerLoad(), input)
    // Awaited once the archive is piped in; a released load's outcome is of no interest.
    result.catch(() => undefined)
    const load = { input, result }
    this.loads.push(load)
    return load
  }

  release(): void {
    for (const { input } of this.loads) {
      input.destroy(new Error('the transfer stopped before its archive was sent'))
    }
    for (const saving of this.saves) {
      void saving.then(
        s => s.destroy(),
        () => undefined
      )
    }
  }
}

/** Sends this version's images, leaving out the layers the server holds. */
export async function transferImages(
  remote: Remote,
  o: DeployOptions,
  docker: Docker,
  log: Log
): Promise<Delivery> {
  const refs = o.services.map(s => versionTag(o.project, s.name, o.version))
  const x = new Exchange(remote, docker, refs)
  try {
    return await exchange(x, o, docker, remote, log)
  } catch (e) {
    x.release()
    throw e
  }
}

async function exchange(
  x: Exchange,
  o: DeployOptions,
  docker: Docker,
  remote: Remote,
  log: Log
): Promise<Delivery> {
  const saving = x.save()
  const load = x.load()
  const [layers, onServer] = await Promise.all([
    Promise.all(x.refs.map(ref => imageLayers(docker, ref))),
    stack.layerChains(remote)
  ])
  const estimate = sum(layers.map(l => l.size))
  const reusable = layers.some(l => chainIds(l.diffIds).some(c => onServer.has(c)))
  if (!reusable) {
    const sent = await send(load, o, await saving, x.refs, estimate, log)
    return { bytes: loaded(sent, x.refs, log) }
  }
  const lower = heldLowerLayers(layers, onServer)
  if (lower) {
    const layerCount = new Set(layers.flatMap(l => l.diffIds)).size
    return sendTops(x, o, log, load, await saving, lower, layerCount, estimate)
  }
  // Which file is which layer is written at the end of the archive: this export is read for
  // it while a second one waits to be sent without the files of the layers the server holds.
  const second = x.save()
  const contents = await readArchive(await saving)
  return sendWithout(x, o, log, load, await second, contents, onServer)
}

/** The usual redeploy: only the images' top layers are new, and the archive streams once. */
async function sendTops(
  x: Exchange,
  o: DeployOptions,
  log: Log,
  load: Load,
  saved: Readable,
  lower: Set<string>,
  layerCount: number,
  estimate: number
): Promise<Delivery> {
  const held = `${lower.size} of ${layerCount} layer(s)`
  log.info(`the server holds ${held}: leaving them out as the archive streams`)
  const filtered = withoutLowerLayers(saved, lower)
  const sent = await send(load, o, filtered.stream, x.refs, estimate, log, saved)
  const total = filtered.total()
  if (sent.result.code !== 0) return sendEveryLayer(x, o, log, sent, total)
  loaded(sent, x.refs, log)
  return {
    bytes: sent.bytes,
    note: `${mib(sent.bytes)} for ${mib(total - filtered.skipped.bytes)} of ${mib(total)}: ${held} already on the server`
  }
}

/** Sends `archive` without the layer files whose chains the server holds (by its manifest). */
async function sendWithout(
  x: Exchange,
  o: DeployOptions,
  log: Log,
  load: Load,
  archive: Readable,
  { images, sizes }: ArchiveContents,
  onServer: Set<string>
): Promise<Delivery> {
  const skip = layerFilesToSkip(images, onServer)
  const files = new Set(images.flatMap(i => i.layers))
  const size = (names: Iterable<string>) =>
    [...names].reduce((total, n) => total + (sizes.get(n) ?? 0), 0)
  const total = size(sizes.keys())
  if (skip.length === 0) {
    return { bytes: loaded(await send(load, o, archive, x.refs, total, log), x.refs, log) }
  }
  log.info(
    `the server holds ${skip.length} of ${files.size} layer(s) (${mib(size(skip))}): leaving them out`
  )
  const filtered = withoutFiles(archive, new Set(skip))
  const partial = await send(load, o, filtered, x.refs, total - size(skip), log, archive)
  if (partial.result.code !== 0) return sendEveryLayer(x, o, log, partial, total)
  loaded(partial, x.refs, log)
  return {
    bytes: partial.bytes,
    note: `${mib(partial.bytes)} for ${mib(total - size(skip))} of ${mib(total)}: ${skip.length} of ${files.size} layer(s) already on the server`
  }
}

/** After the server refused a partial archive: every layer, from a new export. */
async function sendEveryLayer(
  x: Exchange,
  o: DeployOptions,
  log: Log,
  partial: Sent,
  total: number
): Promise<Delivery> {
  log.warn(
    `the server refused the archive without the layers it holds (docker load exit ${partial.result.code}: ${lastWords(partial.result, 3)}); sending every layer`
  )
  const again = x.load()
  const full = loaded(await send(again, o, await x.save(), x.refs, total, log), x.refs, log)
  return {
    bytes: partial.bytes + full,
    note: `${mib(partial.bytes + full)}: every layer, after the server refused a partial archive`
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

interface Sent {
  bytes: number
  result: ExecResult
}

/**
 * The bytes sent, once `docker load` succeeded and says it loaded every ref (`Loaded image:
 * <ref>`, after tagging it); otherwise an error.
 */
function loaded({ bytes, result }: Sent, refs: string[], log: Log): number {
  if (result.code !== 0) {
    throw new Error(`docker load on the server failed (exit ${result.code}): ${lastWords(result)}`)
  }
  const said = result.stdout.trim()
  log.info(said)
  const tags = new Set(said.split('\n').map(l => l.replace(/^Loaded image: /, '').trim()))
  for (const ref of refs) {
    if (!tags.has(ref)) throw new Error(`after docker load, ${ref} is missing on the server`)
  }
  return bytes
}

/**
 * One archive into `load`; the bytes sent. `source` is the engine's export it comes from (the
 * archive itself, unless filtered): released if the load ends before reading it all.
 */
async function send(
  load: Load,
  o: DeployOptions,
  archive: Readable,
  refs: string[],
  expected: number,
  log: Log,
  source: Readable = archive
): Promise<Sent> {
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
  pipeAll([archive, progress.meter, ...(packer ? [packer] : []), counter, load.input])
  try {
    const result = await load.result
    log.info(`sent ${refs.length} image(s), ${mib(bytes)} (compression: ${o.compression})`)
    return { bytes, result }
  } finally {
    progress.stop()
    source.destroy()
  }
}

/** Pipes each stream into the next; an error anywhere ends the last one with it. */
function pipeAll(streams: (Readable | Transform | PassThrough)[]): void {
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
