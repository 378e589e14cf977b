import {
  buildxBuild,
  buildxInspect,
  buildxVersion,
  type BuildxBuild
} from '../../src/docker/buildx-commands.js'
import {
  buildkitAtLeast,
  exportsCache,
  parseBuildxInspect,
  parseBuildxVersion,
  rewritesTimestamps
} from '../../src/docker/buildx-detect.js'
import { parseBuildSecrets } from '../../src/config/parse-build.js'

const minimal: BuildxBuild = {
  tag: 'shop-web:v1',
  context: '/work/repo/web',
  dockerfile: '/work/repo/web/Dockerfile',
  buildArgs: {},
  secrets: [],
  network: 'default',
  cacheFrom: [],
  cacheTo: [],
  output: 'load',
  progress: 'rawjson',
  metadataFile: '/tmp/vd/web.json'
}

describe('buildxBuild', () => {
  test('the least: the tag, the Dockerfile, the context, into the engine', () => {
    expect(buildxBuild(minimal).join(' ')).toBe(
      'buildx build --progress rawjson --file /work/repo/web/Dockerfile --tag shop-web:v1 --output type=docker --metadata-file /tmp/vd/web.json /work/repo/web'
    )
  })

  test('every option', () => {
    expect(
      buildxBuild({
        ...minimal,
        builder: 'ci',
        target: 'runtime',
        buildArgs: { NODE_ENV: 'production', DEPLOY_VERSION: 'v1' },
        secrets: [
          { id: 'npm', env: 'VERSIONED_DEPLOY_BUILD_SECRET_1' },
          { id: 'dsn', file: '/work/repo/secrets/dsn' }
        ],
        network: 'host',
        cacheFrom: ['type=gha,scope=web', 'type=registry,ref=ghcr.io/acme/web:cache'],
        cacheTo: ['type=inline'],
        output: 'push',
        sourceDateEpoch: 1700000000,
        rewriteTimestamp: true,
        progress: 'plain'
      })
    ).toEqual([
      'buildx',
      'build',
      '--builder',
      'ci',
      '--progress',
      'plain',
      '--file',
      '/work/repo/web/Dockerfile',
      '--tag',
      'shop-web:v1',
      '--target',
      'runtime',
      '--build-arg',
      'NODE_ENV=production',
      '--build-arg',
      'DEPLOY_VERSION=v1',
      '--build-arg',
      'SOURCE_DATE_EPOCH=1700000000',
      '--secret',
      'id=npm,env=VERSIONED_DEPLOY_BUILD_SECRET_1',
      '--secret',
      'id=dsn,src=/work/repo/secrets/dsn',
      '--network',
      'host',
      '--cache-from',
      'type=gha,scope=web',
      '--cache-from',
      'type=registry,ref=ghcr.io/acme/web:cache',
      '--cache-to',
      'type=inline',
      '--output',
      'type=image,push=true,rewrite-timestamp=true',
      '--metadata-file',
      '/tmp/vd/web.json',
      '/work/repo/web'
    ])
  })

  test('a load with rewritten timestamps goes through the docker exporter', () => {
    expect(buildxBuild({ ...minimal, rewriteTimestamp: true })).toContain(
      'type=docker,rewrite-timestamp=true'
    )
  })

  test("a secret's value is in no argument, however the secrets are passed", () => {
    const value = 'ghp_0123456789abcdefSECRET'
    const secrets = parseBuildSecrets(`npm_token=${value}\nother=x-${value}-y`)
    const args = buildxBuild({ ...minimal, secrets })
    expect(args.filter(a => a.includes(value))).toEqual([])
    expect(args.filter(a => a.startsWith('id='))).toEqual([
      'id=npm_token,env=VERSIONED_DEPLOY_BUILD_SECRET_1',
      'id=other,env=VERSIONED_DEPLOY_BUILD_SECRET_2'
    ])
  })
})

describe('detection commands', () => {
  test('version and inspect', () => {
    expect(buildxVersion()).toEqual(['buildx', 'version'])
    expect(buildxInspect()).toEqual(['buildx', 'inspect'])
    expect(buildxInspect('ci')).toEqual(['buildx', 'inspect', 'ci'])
  })

  test.each([
    ['github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3\n', '0.13.1'],
    ['github.com/docker/buildx v0.17.1 257815a\n', '0.17.1'],
    ["docker: 'buildx' is not a docker command.\n", undefined]
  ])('buildx version %j is %s', (output, version) => {
    expect(parseBuildxVersion(output)).toBe(version)
  })

  // The sandbox's runner: Docker 20.10 and trixie's buildx 0.13.1.
  const sandbox = `Name:   default
Driver: docker

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.8+unknown
Platforms:        linux/amd64, linux/386
`
  test('inspect: the sandbox runner (docker driver, BuildKit 0.8)', () => {
    const builder = parseBuildxInspect(sandbox)
    expect(builder).toEqual({ name: 'default', driver: 'docker', buildkit: 'v0.8+unknown' })
    expect(builder && rewritesTimestamps(builder)).toBe(false)
    expect(builder && exportsCache(builder, 'gha')).toBe(false)
    expect(builder && exportsCache(builder, 'inline')).toBe(true)
  })

  test('inspect: a docker-container builder of an older buildx', () => {
    const builder = parseBuildxInspect(
      'Name:   ci\nDriver: docker-container\n\nNodes:\nName:      ci0\nEndpoint:  unix:///var/run/docker.sock\nStatus:    running\nBuildkit:  v0.13.2\nPlatforms: linux/amd64\n'
    )
    expect(builder).toEqual({ name: 'ci', driver: 'docker-container', buildkit: 'v0.13.2' })
    expect(builder && rewritesTimestamps(builder)).toBe(true)
    expect(builder && exportsCache(builder, 'gha')).toBe(true)
    expect(parseBuildxInspect('ERROR: no builder "x" found\n')).toBeUndefined()
  })

  test.each<[string, boolean]>([
    ['v0.13.0', true],
    ['0.13.2', true],
    ['v1.0.0', true],
    ['v0.12.5', false],
    ['v0.8+unknown', false],
    ['', false]
  ])('BuildKit %j is at least 0.13: %s', (version, yes) => {
    expect(buildkitAtLeast(version, 0, 13)).toBe(yes)
  })
})
