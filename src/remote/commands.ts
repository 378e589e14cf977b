// Builders of every command the action runs on the server. Pure: each returns an argument
// list; `shJoin` (quote.ts) is the only thing that turns one into shell text. Where a command
// needs shell features (redirects, fallbacks), the script is a constant and every value is
// passed as a positional parameter ("$1", "$2", ...), so user text is never parsed as code.

export type Argv = string[]

export type ComposeFlavor = 'v2' | 'v1'
/** How the server runs the stack: a compose flavour, or a swarm through its manager. */
export type StackFlavor = ComposeFlavor | 'swarm'

export interface ComposeTarget {
  flavor: ComposeFlavor
  project: string
  file: string
  projectDirectory: string
  version: string
}

const sh = (script: string, ...args: string[]): Argv => ['sh', '-c', script, 'sh', ...args]

export const stateDir = (deployPath: string): string => `${deployPath}/.deploy`
export const releaseDir = (deployPath: string, version: string): string =>
  `${stateDir(deployPath)}/releases/${version}`
export const releaseComposeFile = (deployPath: string, version: string): string =>
  `${releaseDir(deployPath, version)}/docker-compose.yml`
/** Orchestrator swarm: the override that pins a release's built images to their digests. */
export const swarmPinsFile = (deployPath: string, version: string): string =>
  `${releaseDir(deployPath, version)}/swarm-images.yml`

/** Prints `current_version`, `current_method` (one line each, empty when absent), then versions.log. */
export function readState(deployPath: string): Argv {
  return sh(
    'for f in current_version current_method; do printf "%s\\n" "$(cat "$1/$f" 2>/dev/null)"; done; cat "$1/versions.log" 2>/dev/null; true',
    stateDir(deployPath)
  )
}

// A state write first receives standard input beside the file, in "$t".
const RECEIVE =
  't="$1.tmp.$$"; mkdir -p "$(dirname "$1")" && cat > "$t" || { rm -f "$t"; exit 1; };'
// What a state write checks before it installs anything: the bytes received are the `bytes`
// sent (a connection cut mid-write gives `cat` an early end of input, and it exits 0).
const WHOLE =
  'n=$(wc -c < "$t"); if [ "$n" -ne "$2" ]; then rm -f "$t"; echo "short write: $n of $2 bytes arrived; $1 left as it was" >&2; exit 3; fi'

/**
 * Replaces a file with standard input, whole or not at all: written beside it, installed by a
 * rename only when all `bytes` arrived.
 */
export function writeFileAtomic(file: string, bytes: number): Argv {
  return sh(`${RECEIVE} ${WHOLE}; mv -f "$t" "$1"`, file, String(bytes))
}

/** Prints a file. */
export function readFile(file: string): Argv {
  return ['cat', '--', file]
}

/**
 * Appends standard input (whole lines) to a file, whole or not at all: the new file is made
 * beside it (a line left unfinished by an earlier cut write is ended first, so that it cannot
 * swallow the next record) and installed by a rename only when all `bytes` arrived.
 */
export function appendFile(file: string, bytes: number): Argv {
  return sh(
    `${RECEIVE} ${WHOLE}; { if [ -s "$1" ]; then cat "$1"; [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d " ")" = 0a ] || echo; fi; cat "$t"; } > "$t.all" && rm -f "$t" && mv -f "$t.all" "$1"`,
    file,
    String(bytes)
  )
}

/**
 * Unpacks a tar stream from standard input into `dir` (made if need be). Owners in the archive
 * are ignored: the files belong to the SSH user; their modes are the archive's (`-p`: no umask).
 */
export function extractInto(dir: string): Argv {
  return sh('mkdir -p "$1" && tar -x -o -p -f - -C "$1"', dir)
}

/**
 * Makes `<projectDir>/.env` a link to the server's `<deployPath>/.env` when that exists (compose
 * reads `.env` from its project directory); removes a stale link when it does not.
 */
export function linkServerEnv(deployPath: string, projectDir: string): Argv {
  return sh(
    'mkdir -p "$2" || exit 1; if [ -e "$1/.env" ]; then ln -sfn "$1/.env" "$2/.env"; elif [ -L "$2/.env" ]; then rm -f "$2/.env"; fi',
    deployPath,
    projectDir
  )
}

export function listReleases(deployPath: string): Argv {
  return sh('ls -1 "$1" 2>/dev/null; true', `${stateDir(deployPath)}/releases`)
}

export function removeReleases(deployPath: string, versions: string[]): Argv {
  return ['rm', '-rf', '--', ...versions.map(v => releaseDir(deployPath, v))]
}

/**
 * Removes release folders through the engine, as root in a throwaway container of `image` (one
 * of the project's own, which has `rm`): what a container wrote as root into a release folder
 * (a bind mount under it) the deploy user cannot delete. No network, no pull, only `rm`.
 */
export function removeReleasesThroughEngine(
  deployPath: string,
  versions: string[],
  image: string
): Argv {
  return [
    'docker',
    'run',
    '--rm',
    '--pull',
    'never',
    '--network',
    'none',
    '--user',
    '0:0',
    '--entrypoint',
    'rm',
    '--mount',
    `type=bind,source=${stateDir(deployPath)}/releases,target=/releases`,
    image,
    '-rf',
    '--',
    ...versions.map(v => `/releases/${v}`)
  ]
}

export function dockerVersion(): Argv {
  return ['docker', 'version', '--format', '{{.Server.Version}}']
}

/** Loads a save archive from standard input; `docker load` itself tells gzip from plain tar. */
export function dockerLoad(): Argv {
  return ['docker', 'load']
}

export function imageExists(ref: string): Argv {
  return ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref]
}

/** The image ID of each reference, one a line, in order; `missing` for one the engine lacks. */
export function imageIdsOrMissing(refs: string[]): Argv {
  return sh(
    'for r in "$@"; do docker image inspect --format "{{.Id}}" "$r" 2>/dev/null || echo missing; done',
    ...refs
  )
}

/**
 * The start of a script that uses a registry login: a fresh Docker config directory, removed
 * when the script ends (also on failure or hang-up), so no credential stays on the server.
 */
const THROWAWAY_DOCKER_CONFIG = [
  'd=$(mktemp -d "${TMPDIR:-/tmp}/vd-docker-config.XXXXXX") || exit 1',
  'trap \'rm -rf "$d"\' EXIT',
  "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
  'export DOCKER_CONFIG="$d"'
]

/** Logs in to `$host` as `$user` (when set) with the password from standard input; exit 3 if refused. */
const LOGIN_IF_USER =
  'if [ -n "$user" ]; then docker login --username "$user" --password-stdin "$host" >/dev/null 2>"$d/err" || { echo "login to $host failed: $(cat "$d/err")" >&2; exit 3; }; fi'

/**
 * Pulls `refs` from the registry at `host` inside a throw-away Docker config directory, removed
 * when the script ends (also on failure or hang-up), so no registry credential stays on the
 * server. With a `username`, it first logs in with the password read from standard input
 * (never in argv). Exit 3: the login failed; exit 4: a pull failed.
 */
export function registryPull(host: string, username: string, refs: string[]): Argv {
  return sh(
    [
      ...THROWAWAY_DOCKER_CONFIG,
      'host=$1; user=$2; shift 2',
      LOGIN_IF_USER,
      'for ref in "$@"; do docker pull --quiet "$ref" >/dev/null || { echo "docker pull $ref failed" >&2; exit 4; }; done'
    ].join('\n'),
    host,
    username,
    ...refs
  )
}

/**
 * The layers (diff IDs) of every image on the engine, one JSON array a line. An image removed
 * between the listing and its inspection (a prune on the server meanwhile) is left out, not an
 * error: its layers are then sent.
 */
export function imageLayers(): Argv {
  return sh(
    'docker image ls -q --no-trunc | sort -u | { xargs -r docker image inspect --format "{{json .RootFS.Layers}}" 2>/dev/null || true; }'
  )
}

export function dockerTag(source: string, target: string): Argv {
  return ['docker', 'tag', source, target]
}

/** Tags of one repository, one a line. */
export function listTags(repo: string): Argv {
  return ['docker', 'image', 'ls', '--format', '{{.Tag}}', repo]
}

export function removeImages(refs: string[]): Argv {
  return ['docker', 'image', 'rm', ...refs]
}

/** Prints `v2` or `v1` for the compose the server has, or `none`. */
export function detectCompose(): Argv {
  return sh(
    'if docker compose version >/dev/null 2>&1; then echo v2; elif command -v docker-compose >/dev/null 2>&1; then echo v1; else echo none; fi'
  )
}

export function compose(target: ComposeTarget, args: string[]): Argv {
  const base = target.flavor === 'v2' ? ['docker', 'compose'] : ['docker-compose']
  return [
    'env',
    `DEPLOY_VERSION=${target.version}`,
    ...base,
    '--project-name',
    target.project,
    '--file',
    target.file,
    '--project-directory',
    target.projectDirectory,
    ...args
  ]
}

export function composeUp(target: ComposeTarget): Argv {
  return compose(target, ['up', '-d', '--no-build', '--remove-orphans'])
}

/** A one-off container of a compose service: the release and rollback commands. */
export interface OneOffRun {
  /** The container's name, so that it can be removed when the run is stopped. */
  name: string
  service: string
  /** Replace the service's command; none: its own. */
  args: string[]
  /** Variables set in the container. */
  env: Record<string, string>
  /** Start the services it depends on too (compose's default); otherwise --no-deps. */
  withDeps: boolean
  /** Stopped after this long (exit 124), killed 10 s later if it ignores that. */
  timeoutSeconds: number
}

/** `compose run --rm` of a service, without a terminal, bounded by `timeout`. */
export function composeRunOnce(target: ComposeTarget, run: OneOffRun): Argv {
  const env = Object.entries(run.env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  return [
    'timeout',
    '--kill-after=10',
    String(run.timeoutSeconds),
    ...compose(target, [
      'run',
      '--rm',
      '-T',
      '--name',
      run.name,
      ...(run.withDeps ? [] : ['--no-deps']),
      ...env,
      run.service,
      ...run.args
    ])
  ]
}

/** Removes a container, running or not (a one-off stopped at its timeout, or left by a killed run). */
export function removeContainer(name: string): Argv {
  return ['docker', 'rm', '--force', name]
}

/** IDs of every container (running or not) of a compose project. */
export function projectContainers(project: string): Argv {
  return ['docker', 'ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]
}

export function inspectContainers(ids: string[]): Argv {
  return ['docker', 'inspect', ...ids]
}

export function containerLogs(id: string, lines: number): Argv {
  return ['docker', 'logs', '--tail', String(lines), id]
}

/** A `cmd:` health check: the user's own shell command, handed to sh as one argument. */
export function shellCheck(command: string): Argv {
  return ['sh', '-c', command]
}

export const lockDir = (deployPath: string): string => `${stateDir(deployPath)}/lock`

/**
 * Takes the deploy lock with an atomic `mkdir`, writing the holder's details inside.
 * Prints `acquired`, or `held`, the lock's age in seconds and the holder's details.
 */
export function acquireLock(deployPath: string, info: string): Argv {
  return sh(
    'mkdir -p "$1" || exit 2; if mkdir "$2" 2>/dev/null; then printf "%s\\n" "$3" > "$2/info" && echo acquired; else echo held; echo $(( $(date +%s) - $(stat -c %Y "$2" 2>/dev/null || date +%s) )); cat "$2/info" 2>/dev/null; fi; true',
    stateDir(deployPath),
    lockDir(deployPath),
    info
  )
}

/**
 * Runs `action` (a fixed command, never input) on the lock directory only while the lock holds
 * `token`: never on someone else's lock. Prints `done`, or `not ours`.
 */
function ifLockHolds(deployPath: string, token: string, action: string, done: string): Argv {
  return sh(
    `if grep -qF "$2" "$1/info" 2>/dev/null; then ${action} "$1" && echo ${done}; else echo "not ours"; fi`,
    lockDir(deployPath),
    token
  )
}

/**
 * Prints `none`, or `held`, the lock's age in seconds (since last renewed) and its holder, if it
 * has one: a lock made by hand, or by a deploy killed before it wrote its info, has none.
 */
export function readLock(deployPath: string): Argv {
  return sh(
    'if [ -d "$1" ]; then echo held; echo $(( $(date +%s) - $(stat -c %Y "$1" 2>/dev/null || date +%s) )); cat "$1/info" 2>/dev/null || true; else echo none; fi',
    lockDir(deployPath)
  )
}

/** Removes the lock only when it holds `token`. Prints `released` or `not ours`. */
export function releaseLock(deployPath: string, token: string): Argv {
  return ifLockHolds(deployPath, token, 'rm -rf', 'released')
}

/**
 * Renews the lock's age (the lock directory's time) when it still holds `token`, so a long
 * deploy is never judged abandoned. Prints `renewed` or `not ours`. `touch -c` creates nothing:
 * a renewal still running when the deploy released its lock must not leave a file in its place
 * (which every later deploy would take for a lock without a holder).
 */
export function renewLock(deployPath: string, token: string): Argv {
  return ifLockHolds(deployPath, token, 'touch -c', 'renewed')
}

/** Breaks an abandoned lock, only if it still holds exactly what was judged stale. */
export function breakLock(deployPath: string, info: string): Argv {
  return sh(
    'if [ "$(cat "$1/info" 2>/dev/null)" = "$2" ]; then rm -rf "$1" && echo broken; else echo changed; fi',
    lockDir(deployPath),
    info
  )
}

// ---------------------------------------------------------------- swarm (orchestrator: swarm)

/** Prints the node's swarm state and whether it is a manager: `active true` on a manager. */
export function swarmRole(): Argv {
  return ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']
}

export interface StackDeploy {
  project: string
  /** The stored compose file, then the file that pins the built images' digests. */
  files: string[]
  version: string
  /** The value of DEPLOY_REGISTRY: `host[:port][/path]`. */
  registry: string
  /** `host[:port]` to log in to, and the user ('' for none; the password is standard input). */
  loginHost: string
  username: string
}

/**
 * `docker stack deploy --with-registry-auth --prune` with DEPLOY_VERSION and DEPLOY_REGISTRY set,
 * in a throw-away Docker config directory (removed when the script ends) where the registry
 * login, if any, happens with the password read from standard input. Prints the manager's time
 * first: the tasks and updates this deploy causes are the ones after it. Exit 3: the login failed.
 */
export function stackDeploy(d: StackDeploy): Argv {
  return sh(
    [
      ...THROWAWAY_DOCKER_CONFIG,
      'project=$1; version=$2; registry=$3; host=$4; user=$5; shift 5',
      LOGIN_IF_USER,
      'date -u +%Y-%m-%dT%H:%M:%S.%NZ',
      // Each file becomes `-c <file>`, still one argument each.
      'n=$#; for f in "$@"; do set -- "$@" -c "$f"; done; shift "$n"',
      'DEPLOY_VERSION=$version DEPLOY_REGISTRY=$registry docker stack deploy --with-registry-auth --prune "$@" "$project"'
    ].join('\n'),
    d.project,
    d.version,
    d.registry,
    d.loginHost,
    d.username,
    ...d.files
  )
}

/**
 * The manager's time on the first line, then every service of the stack (`S <json>`) and every
 * task they have or had (`T <json>`), one a line.
 */
export function stackSnapshot(project: string): Argv {
  return sh(
    [
      'date -u +%Y-%m-%dT%H:%M:%S.%NZ',
      'ids=$(docker service ls -q --filter "label=com.docker.stack.namespace=$1") || exit 1',
      '[ -n "$ids" ] || exit 0',
      "docker service inspect --format 'S {{json .}}' $ids || exit 1",
      't=$(docker service ps -q --no-trunc $ids) || exit 1',
      '[ -z "$t" ] || docker inspect --type task --format \'T {{json .}}\' $t'
    ].join('\n'),
    project
  )
}

/** `<node id> <hostname>` of every node, one a line (on a manager). */
export function swarmNodes(): Argv {
  return ['docker', 'node', 'ls', '--format', '{{.ID}} {{.Hostname}}']
}

export function taskLogs(taskId: string, lines: number): Argv {
  return ['docker', 'service', 'logs', '--tail', String(lines), '--raw', '--no-trunc', taskId]
}
