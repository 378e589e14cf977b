import { shJoin } from '../../src/remote/quote.js'
import * as cmd from '../../src/remote/commands.js'

const target: cmd.ComposeTarget = {
  flavor: 'v1',
  project: 'shop',
  file: '/opt/shop/.deploy/releases/v1/docker-compose.yml',
  projectDirectory: '/opt/shop',
  version: 'v1'
}

describe('remote commands, as the server receives them', () => {
  test.each<[string, string[], string]>([
    ['docker load', cmd.dockerLoad(), 'docker load'],
    [
      'the layers of every image, an image removed meanwhile left out',
      cmd.imageLayers(),
      `sh -c 'docker image ls -q --no-trunc | sort -u | { xargs -r docker image inspect --format "{{json .RootFS.Layers}}" 2>/dev/null || true; }' sh`
    ],
    [
      'tag',
      cmd.dockerTag('shop-api:v1', 'shop-api:backup-v1'),
      'docker tag shop-api:v1 shop-api:backup-v1'
    ],
    [
      'image exists',
      cmd.imageExists('shop-api:v1'),
      "docker image inspect --format '{{.Id}}' shop-api:v1"
    ],
    ['list tags', cmd.listTags('shop-api'), "docker image ls --format '{{.Tag}}' shop-api"],
    [
      'remove images',
      cmd.removeImages(['shop-api:a', 'shop-web:a']),
      'docker image rm shop-api:a shop-web:a'
    ],
    [
      'compose up (v1)',
      cmd.composeUp(target),
      'env DEPLOY_VERSION=v1 docker-compose --project-name shop --file /opt/shop/.deploy/releases/v1/docker-compose.yml --project-directory /opt/shop up -d --no-build --remove-orphans'
    ],
    [
      'compose up (v2)',
      cmd.composeUp({ ...target, flavor: 'v2' }),
      'env DEPLOY_VERSION=v1 docker compose --project-name shop --file /opt/shop/.deploy/releases/v1/docker-compose.yml --project-directory /opt/shop up -d --no-build --remove-orphans'
    ],
    [
      'project containers',
      cmd.projectContainers('shop'),
      'docker ps -aq --filter label=com.docker.compose.project=shop'
    ],
    ['logs', cmd.containerLogs('abc', 20), 'docker logs --tail 20 abc'],
    [
      'write file atomically',
      cmd.writeFileAtomic('/opt/shop/.deploy/current_version', 7),
      `sh -c 't="$1.tmp.$$"; mkdir -p "$(dirname "$1")" && cat > "$t" || { rm -f "$t"; exit 1; }; n=$(wc -c < "$t"); if [ "$n" -ne "$2" ]; then rm -f "$t"; echo "short write: $n of $2 bytes arrived; $1 left as it was" >&2; exit 3; fi; mv -f "$t" "$1"' sh /opt/shop/.deploy/current_version 7`
    ],
    [
      'append',
      cmd.appendFile('/opt/shop/.deploy/versions.log', 120),
      `sh -c 't="$1.tmp.$$"; mkdir -p "$(dirname "$1")" && cat > "$t" || { rm -f "$t"; exit 1; }; n=$(wc -c < "$t"); if [ "$n" -ne "$2" ]; then rm -f "$t"; echo "short write: $n of $2 bytes arrived; $1 left as it was" >&2; exit 3; fi; { if [ -s "$1" ]; then cat "$1"; [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d " ")" = 0a ] || echo; fi; cat "$t"; } > "$t.all" && rm -f "$t" && mv -f "$t.all" "$1"' sh /opt/shop/.deploy/versions.log 120`
    ],
    [
      'unpack the files of a release',
      cmd.extractInto('/opt/shop/.deploy/releases/v1'),
      `sh -c 'mkdir -p "$1" && tar -x -o -p -f - -C "$1"' sh /opt/shop/.deploy/releases/v1`
    ],
    [
      'link the server .env into a release',
      cmd.linkServerEnv('/opt/shop', '/opt/shop/.deploy/releases/v1/deploy'),
      `sh -c 'mkdir -p "$2" || exit 1; if [ -e "$1/.env" ]; then ln -sfn "$1/.env" "$2/.env"; elif [ -L "$2/.env" ]; then rm -f "$2/.env"; fi' sh /opt/shop /opt/shop/.deploy/releases/v1/deploy`
    ],
    [
      'remove releases',
      cmd.removeReleases('/opt/shop', ['a', 'b']),
      'rm -rf -- /opt/shop/.deploy/releases/a /opt/shop/.deploy/releases/b'
    ],
    [
      'image ids or missing',
      cmd.imageIdsOrMissing(['shop-api:v1', 'shop-web:v1']),
      `sh -c 'for r in "$@"; do docker image inspect --format "{{.Id}}" "$r" 2>/dev/null || echo missing; done' sh shop-api:v1 shop-web:v1`
    ],
    [
      'read the lock (one without its info is still read)',
      cmd.readLock('/opt/shop'),
      `sh -c 'if [ -d "$1" ]; then echo held; echo $(( $(date +%s) - $(stat -c %Y "$1" 2>/dev/null || date +%s) )); cat "$1/info" 2>/dev/null || true; else echo none; fi' sh /opt/shop/.deploy/lock`
    ],
    [
      'registry pull (the password travels on standard input, never here)',
      cmd.registryPull('ghcr.io', 'bot', ['ghcr.io/acme/shop-api@sha256:ab']),
      `sh -c 'd=$(mktemp -d "\${TMPDIR:-/tmp}/vd-docker-config.XXXXXX") || exit 1
trap '\\''rm -rf "$d"'\\'' EXIT
trap '\\''exit 129'\\'' HUP; trap '\\''exit 130'\\'' INT; trap '\\''exit 143'\\'' TERM
export DOCKER_CONFIG="$d"
host=$1; user=$2; shift 2
if [ -n "$user" ]; then docker login --username "$user" --password-stdin "$host" >/dev/null 2>"$d/err" || { echo "login to $host failed: $(cat "$d/err")" >&2; exit 3; }; fi
for ref in "$@"; do docker pull --quiet "$ref" >/dev/null || { echo "docker pull $ref failed" >&2; exit 4; }; done' sh ghcr.io bot ghcr.io/acme/shop-api@sha256:ab`
    ],
    [
      'cmd health check',
      cmd.shellCheck("curl -fs 'http://x/'"),
      `sh -c 'curl -fs '\\''http://x/'\\'''`
    ]
  ])('%s', (_name, argv, expected) => {
    expect(shJoin(argv)).toBe(expected)
  })

  test('the state directory and release files sit under <deploy-path>/.deploy', () => {
    expect(cmd.stateDir('/opt/shop')).toBe('/opt/shop/.deploy')
    expect(cmd.releaseComposeFile('/opt/shop', 'v1')).toBe(
      '/opt/shop/.deploy/releases/v1/docker-compose.yml'
    )
  })

  test('values reach sh -c scripts as positional parameters, never inside the script', () => {
    const argv = cmd.readState("/opt/we'ird $(x)")
    expect(argv.slice(0, 2)).toEqual(['sh', '-c'])
    expect(argv[2]).not.toContain('weird')
    expect(argv.slice(3)).toEqual(['sh', "/opt/we'ird $(x)/.deploy"])
  })
})
