// Argument lists for the `docker` program's `buildx` commands, run as a child process with no
// shell between. Pure: they only build the lists; a new flag changes one function and one test.
// A secret's value is never an argument (any process on the runner can read a command line):
// buildx reads it from a variable of its environment (`--secret id=…,env=…`) or from a file.

/** A secret the build mounts: by the variable or the file buildx reads its value from. */
export type BuildxSecretSource = { id: string; env: string } | { id: string; file: string }

/** What `buildx build --progress` prints: logs, BuildKit's status as JSON, or the image ID alone. */
export type BuildxProgress = 'plain' | 'rawjson' | 'quiet'

export interface BuildxBuild {
  tag: string
  /** Absolute path of the build context. */
  context: string
  /** Absolute path of the Dockerfile (`--file` is read from buildx's working directory). */
  dockerfile: string
  /** The Dockerfile stage to build; absent: the last one. */
  target?: string
  buildArgs: Readonly<Record<string, string>>
  /** Only `id` and `env`/`file` are read: a value carried beside them stays out of the list. */
  secrets: readonly BuildxSecretSource[]
  /** `default` passes no `--network`: the builder's own. */
  network: string
  /** Absent: buildx's current builder. */
  builder?: string
  /** buildx cache lines (`type=…,…`). */
  cacheFrom: readonly string[]
  cacheTo: readonly string[]
  /** `load`: into the engine's images; `push`: to the registry of the tag. */
  output: 'load' | 'push'
  /** The commit's time: passed as the SOURCE_DATE_EPOCH build argument. */
  sourceDateEpoch?: number
  /**
   * Layer timestamps clamped to SOURCE_DATE_EPOCH (BuildKit 0.13 and later; older BuildKit, as
   * Docker 20.10's, takes the option and ignores it).
   */
  rewriteTimestamp?: boolean
  progress: BuildxProgress
  /** Where buildx writes the result (`containerimage.digest`); absent: nowhere. */
  metadataFile?: string
}

export function buildxBuild(b: BuildxBuild): string[] {
  const args = ['buildx', 'build']
  if (b.builder !== undefined) args.push('--builder', b.builder)
  args.push('--progress', b.progress, '--file', b.dockerfile, '--tag', b.tag)
  if (b.target !== undefined) args.push('--target', b.target)
  const buildArgs = {
    ...b.buildArgs,
    ...(b.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(b.sourceDateEpoch) } : {})
  }
  for (const [name, value] of Object.entries(buildArgs))
    args.push('--build-arg', `${name}=${value}`)
  for (const s of b.secrets) {
    args.push('--secret', 'env' in s ? `id=${s.id},env=${s.env}` : `id=${s.id},src=${s.file}`)
  }
  if (b.network !== 'default') args.push('--network', b.network)
  for (const line of b.cacheFrom) args.push('--cache-from', line)
  for (const line of b.cacheTo) args.push('--cache-to', line)
  args.push('--output', output(b))
  if (b.metadataFile !== undefined) args.push('--metadata-file', b.metadataFile)
  args.push(b.context)
  return args
}

function output(b: BuildxBuild): string {
  const exporter = b.output === 'load' ? 'type=docker' : 'type=image,push=true'
  return b.rewriteTimestamp ? `${exporter},rewrite-timestamp=true` : exporter
}

/** `docker buildx version`: fails when the plugin is missing (see parseBuildxVersion). */
export const buildxVersion = (): string[] => ['buildx', 'version']

/** `docker buildx inspect`: the builder's driver and BuildKit version (see parseBuildxInspect). */
export function buildxInspect(builder?: string): string[] {
  return builder === undefined ? ['buildx', 'inspect'] : ['buildx', 'inspect', builder]
}
