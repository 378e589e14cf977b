import { composeBuilds } from '../../src/plan/compose-build.js'

const FILE = '/work/repo/deploy/compose.yml'
const V = 'v1.2.3'

const plan = (text: string, vars: Record<string, string> = {}) =>
  composeBuilds(text, FILE, 'shop', V, vars)

describe('composeBuilds', () => {
  test('the string form: a context beside the compose file, its Dockerfile', () => {
    expect(plan('services:\n  web:\n    build: ../web\n  db:\n    image: postgres:16\n')).toEqual({
      builds: [
        {
          service: 'web',
          tag: 'shop-web:v1.2.3',
          context: '/work/repo/web',
          dockerfile: '/work/repo/web/Dockerfile',
          args: {},
          secrets: [],
          cacheFrom: [],
          cacheTo: []
        }
      ],
      problems: [],
      warnings: []
    })
  })

  test('the object form, every key the action reads', () => {
    const text = `
services:
  api:
    build:
      context: ./api
      dockerfile: docker/Dockerfile.prod
      target: runtime
      network: host
      args:
        NODE_ENV: production
        RELEASE: \${DEPLOY_VERSION}
        PORT: 8080
        FROM_ENV:
        UNSET:
      secrets:
        - npm_token
        - source: sentry
          target: sentry_dsn
      cache_from:
        - type=registry,ref=ghcr.io/acme/api:cache
        - ghcr.io/acme/api:\${CACHE_TAG}
      cache_to:
        - type=inline
secrets:
  npm_token:
    environment: NPM_TOKEN
  sentry:
    file: ./secrets/sentry.txt
`
    expect(plan(text, { FROM_ENV: 'yes', NPM_TOKEN: 'x', CACHE_TAG: 'main' })).toEqual({
      builds: [
        {
          service: 'api',
          tag: 'shop-api:v1.2.3',
          context: '/work/repo/deploy/api',
          dockerfile: '/work/repo/deploy/api/docker/Dockerfile.prod',
          target: 'runtime',
          network: 'host',
          args: { NODE_ENV: 'production', RELEASE: 'v1.2.3', PORT: '8080', FROM_ENV: 'yes' },
          secrets: [
            { id: 'npm_token', env: 'NPM_TOKEN' },
            { id: 'sentry_dsn', file: '/work/repo/deploy/secrets/sentry.txt' }
          ],
          cacheFrom: ['type=registry,ref=ghcr.io/acme/api:cache', 'ghcr.io/acme/api:main'],
          cacheTo: ['type=inline']
        }
      ],
      problems: [],
      warnings: []
    })
  })

  test('args as a list; an absolute Dockerfile; no context is the folder of the file', () => {
    const text = `
services:
  worker:
    build:
      dockerfile: /abs/Dockerfile
      args:
        - A=1
        - B=x=y
        - DEPLOY_VERSION
        - HOME_DIR
`
    expect(plan(text, { HOME_DIR: '/root' }).builds).toEqual([
      {
        service: 'worker',
        tag: 'shop-worker:v1.2.3',
        context: '/work/repo/deploy',
        dockerfile: '/abs/Dockerfile',
        args: { A: '1', B: 'x=y', DEPLOY_VERSION: 'v1.2.3', HOME_DIR: '/root' },
        secrets: [],
        cacheFrom: [],
        cacheTo: []
      }
    ])
  })

  test('what cannot be built is refused, naming the key', () => {
    const text = `
services:
  a:
    build:
      context: https://github.com/acme/a.git#main
  b:
    build:
      context: ./b\${SUFFIX:-x}
  c:
    build:
      context: ./c
      secrets: [missing, token, nothing]
      ssh: [default]
      dockerfile_inline: FROM scratch
secrets:
  token:
    environment: TOKEN
  nothing:
    external: true
`
    const p = plan(text)
    expect(p.builds).toEqual([])
    expect(p.problems).toEqual([
      'services.a.build.context "https://github.com/acme/a.git#main" is a remote context, which the action does not build: check the code out in the job and give its folder',
      "services.b.build.context uses $SUFFIX, which the job's environment does not set (defaults of unset variables are not applied here): set it in the job's env, or write the value",
      'services.c.build.secrets[0] names the secret "missing", which the top-level secrets: does not declare: declare it there with file: or environment:',
      "secrets.token (used by services.c.build) comes from $TOKEN, which the job's environment does not set",
      'secrets.nothing (used by services.c.build) has neither file: nor environment:, so the build cannot read it: give one of them'
    ])
    expect(p.warnings).toEqual([
      'services.c.build.ssh is not supported by the action and is left out of the build',
      'services.c.build.dockerfile_inline is not supported by the action and is left out of the build'
    ])
  })

  test('a file that does not parse', () => {
    expect(plan('services: [')).toEqual({
      builds: [],
      problems: [expect.stringMatching(/^not valid YAML: /)],
      warnings: []
    })
    expect(plan('version: "3"\n').problems).toEqual([
      'no "services:" mapping: a compose file lists its services under services:'
    ])
  })
})
