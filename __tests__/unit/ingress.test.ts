// Start-first services and the ingress: the inputs, what the compose file asks of each service
// (and what it is refused), the Caddy configuration, and the commands that run the ingress.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseOptions } from '../../src/config/parse.js'
import type { RunContext } from '../../src/config/inputs.js'
import { stackPlan, validHostName, labelsOf } from '../../src/plan/stack-plan.js'
import {
  adminOnLoopback,
  drainRoute,
  initialConfig,
  networksToLeave,
  parseNetworkMembers,
  parseUpstreams,
  projectRoutes,
  routedContainers,
  serviceRoute
} from '../../src/plan/caddy-config.js'
import { sameJson } from '../../src/plan/same-json.js'
import * as icmd from '../../src/remote/ingress-commands.js'
import { shJoin } from '../../src/remote/quote.js'
import { checkStackPlan } from '../../src/engine/runner/local-files.js'
import { raw, refusal } from './raw-inputs.js'
import { routeBlocks, switchBlocks } from '../../src/report/summary.js'
import { oneOffFlavor } from '../../src/engine/stack/stack-strategy.js'
import { stackStrategy } from '../../src/engine/stack/choose-strategy.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}

describe('inputs', () => {
  test('ingress none (the default) leaves no ingress; drain-timeout defaults to 30 s', () => {
    const o = parseOptions(raw(), ctx)
    expect(o.ingress).toBeUndefined()
    expect(o.drainTimeoutMs).toBe(30_000)
  })

  test('ingress caddy: caddy:2 on ports 80 and 443 unless told', () => {
    expect(parseOptions(raw({ ingress: 'caddy' }), ctx).ingress).toEqual({
      image: 'caddy:2',
      httpPort: 80,
      httpsPort: 443
    })
    const o = parseOptions(
      raw({
        ingress: 'caddy',
        'ingress-image': 'registry.local/caddy:2.8',
        'ingress-http-port': '8080',
        'ingress-https-port': '0',
        'drain-timeout': '5'
      }),
      ctx
    )
    expect(o.ingress).toEqual({ image: 'registry.local/caddy:2.8', httpPort: 8080, httpsPort: 0 })
    expect(o.drainTimeoutMs).toBe(5000)
  })

  test.each([
    [{ ingress: 'nginx' }, 'Input "ingress": "nginx" is not one of none, caddy'],
    [
      { ingress: 'caddy', 'ingress-http-port': '80x' },
      'Input "ingress-http-port": "80x" is not a port: a whole number from 1 to 65535'
    ],
    [
      { ingress: 'caddy', 'ingress-http-port': '0' },
      'Input "ingress-http-port": "0" is not a port: a whole number from 1 to 65535'
    ],
    [
      { ingress: 'caddy', 'ingress-https-port': '70000' },
      'Input "ingress-https-port": "70000" is not a port: a whole number from 1 to 65535, or 0 for plain HTTP only'
    ],
    [
      { ingress: 'caddy', 'ingress-https-port': '80' },
      'Input "ingress-https-port": 80 is also ingress-http-port: give two different ports (or 0 for plain HTTP only)'
    ],
    [
      { ingress: 'caddy', 'ingress-image': 'caddy 2' },
      'Input "ingress-image": "caddy 2" is not an image reference (e.g. caddy:2)'
    ],
    [
      { 'drain-timeout': '-1' },
      'Input "drain-timeout": "-1" is not a number of seconds from 0 (off) and at most 3600'
    ]
  ])('%j is refused', (overrides, message) => {
    expect(refusal(() => parseOptions(raw(overrides), ctx))).toBe(message)
  })

  test('ingress caddy is refused with orchestrator swarm', () => {
    expect(
      refusal(() =>
        parseOptions(
          raw({ ingress: 'caddy', orchestrator: 'swarm', method: 'registry', registry: 'r.test' }),
          ctx
        )
      )
    ).toMatch(/^Input "ingress": caddy is not supported with orchestrator swarm/)
  })
})

const START_FIRST = `services:
  api:
    image: app-api:\${DEPLOY_VERSION:-latest}
    deploy:
      replicas: 2
      update_config: { order: start-first }
    labels:
      versioned-deploy.ingress.host: "App.example.com, www.example.com"
      versioned-deploy.ingress.port: "8080"
      versioned-deploy.ingress.path: /api/
      versioned-deploy.ingress.healthcheck: /health
  worker:
    image: app-api:\${DEPLOY_VERSION:-latest}
    deploy: { update_config: { order: start-first } }
  db:
    image: postgres:16
    ports: ['127.0.0.1:5432:5432']
    labels: ['versioned-deploy.ingress.host=db.example.com', 'versioned-deploy.ingress.port=5432']
`

describe('the stack plan', () => {
  test('start-first services, replicas and routes are read from the compose file', () => {
    expect(stackPlan(START_FIRST)).toEqual({
      services: [
        {
          name: 'api',
          startFirst: true,
          replicas: 2,
          route: {
            hosts: ['app.example.com', 'www.example.com'],
            port: 8080,
            path: '/api',
            healthcheck: '/health'
          }
        },
        { name: 'worker', startFirst: true, replicas: 1 },
        {
          name: 'db',
          startFirst: false,
          replicas: 1,
          route: { hosts: ['db.example.com'], port: 5432 }
        }
      ],
      problems: []
    })
  })

  test.each([
    [
      'ports:',
      `services:\n  web:\n    image: x\n    ports: ['8080:80']\n    deploy: { update_config: { order: start-first } }\n`,
      'service "web" is start-first but publishes host ports (ports:): its old and new containers cannot both bind them. Remove ports: and route it through the ingress (labels versioned-deploy.ingress.host and versioned-deploy.ingress.port), or drop start-first'
    ],
    [
      'container_name',
      `services:\n  web:\n    image: x\n    container_name: web\n    deploy: { update_config: { order: start-first } }\n`,
      'service "web" is start-first but sets container_name: two containers cannot share one name. Remove container_name, or drop start-first'
    ],
    [
      'a route without a port',
      `services:\n  web:\n    image: x\n    labels: { versioned-deploy.ingress.host: a.test }\n`,
      'service "web" has versioned-deploy.ingress.host but no versioned-deploy.ingress.port: add the container port the ingress sends its traffic to (e.g. "versioned-deploy.ingress.port=8080")'
    ],
    [
      'a port that is not one',
      `services:\n  web:\n    image: x\n    labels: { versioned-deploy.ingress.host: a.test, versioned-deploy.ingress.port: http }\n`,
      'service "web": versioned-deploy.ingress.port "http" is not a port from 1 to 65535'
    ],
    [
      'an invalid host name',
      `services:\n  web:\n    image: x\n    labels: { versioned-deploy.ingress.host: "a.test, bad_host!", versioned-deploy.ingress.port: "80" }\n`,
      'service "web": "bad_host!" in versioned-deploy.ingress.host is not a valid host name (letters, digits and "-" in dot-separated labels, e.g. app.example.com)'
    ],
    [
      'a port without a host',
      `services:\n  web:\n    image: x\n    labels: { versioned-deploy.ingress.port: "80" }\n`,
      'service "web" has versioned-deploy.ingress.port but no versioned-deploy.ingress.host: a route needs the host names it answers for'
    ],
    [
      'a health check that is not a path',
      `services:\n  web:\n    image: x\n    labels: { versioned-deploy.ingress.host: a.test, versioned-deploy.ingress.port: "80", versioned-deploy.ingress.healthcheck: health }\n`,
      'service "web": versioned-deploy.ingress.healthcheck "health" is not a path starting with "/"'
    ]
  ])('%s is refused, naming the service', (_what, text, problem) => {
    expect(stackPlan(text).problems).toEqual([problem])
  })

  test('host names', () => {
    for (const ok of ['a.test', 'localhost', '*.example.com', 'x-1.y2.z']) {
      expect(validHostName(ok)).toBe(true)
    }
    for (const bad of [
      '-a.test',
      'a..test',
      '*',
      'a.*.test',
      'a_b.test',
      `${'a'.repeat(64)}.test`
    ]) {
      expect(validHostName(bad)).toBe(false)
    }
  })

  test('labels as a list or a mapping', () => {
    expect(labelsOf(['a=1', 'b = two', 'c'])).toEqual({ a: '1', b: 'two', c: '' })
    expect(labelsOf({ a: 1, b: null })).toEqual({ a: '1', b: '' })
  })

  test('the check before the build: ingress caddy needs a routed service; labels without the ingress warn', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vd-plan-'))
    const file = path.join(dir, 'docker-compose.yml')
    writeFileSync(file, `services:\n  web:\n    image: x\n`)
    const o = { ...parseOptions(raw({ ingress: 'caddy' }), ctx), composeFile: file }
    expect(refusal(() => checkStackPlan(o))).toBe(
      'Input "ingress": is caddy, but no service of docker-compose.yml has a route: label the services it should serve with versioned-deploy.ingress.host (host names) and versioned-deploy.ingress.port (the container port), or set ingress none'
    )
    writeFileSync(file, START_FIRST)
    expect(checkStackPlan(o)).toEqual([])
    expect(checkStackPlan({ ...o, ingress: undefined })).toEqual([
      'docker-compose.yml: api, db have versioned-deploy.ingress.host labels, but ingress is none: no route is made (set ingress caddy)'
    ])
    writeFileSync(
      file,
      `services:\n  web:\n    image: x\n    container_name: w\n    deploy: { update_config: { order: start-first } }\n`
    )
    expect(refusal(() => checkStackPlan(o))).toMatch(
      /^Input "compose-file": docker-compose.yml: service "web" is start-first but sets container_name/
    )
  })
})

describe('the Caddy configuration', () => {
  test("a new ingress: the admin API on the container's own loopback, one HTTP server without routes", () => {
    expect(initialConfig({ image: 'caddy:2', httpPort: 80, httpsPort: 0 })).toEqual({
      admin: { listen: '127.0.0.1:2019' },
      apps: {
        http: {
          servers: {
            'versioned-deploy': {
              listen: [':80'],
              routes: [],
              automatic_https: { disable: true }
            }
          }
        }
      }
    })
    expect(initialConfig({ image: 'caddy:2', httpPort: 80, httpsPort: 443 })).toEqual({
      admin: { listen: '127.0.0.1:2019' },
      apps: { http: { servers: { 'versioned-deploy': { listen: [':443'], routes: [] } } } }
    })
  })

  test("a service's route and its drain route", () => {
    const route = { hosts: ['a.test'], port: 8080, path: '/api' }
    expect(serviceRoute('shop', 'api', route, ['shop-api-2:8080'])).toEqual({
      '@id': 'vd.shop.api',
      match: [{ host: ['a.test'], path: ['/api', '/api/*'] }],
      handle: [
        {
          handler: 'reverse_proxy',
          upstreams: [{ dial: 'shop-api-2:8080' }],
          // A dial that fails is tried again for a second, every 100 ms.
          load_balancing: { try_duration: 1_000_000_000, try_interval: 100_000_000 }
        }
      ],
      terminal: true
    })
    expect(drainRoute('shop', 'api', ['shop-api-1:8080'])).toEqual({
      '@id': 'vd-drain.shop.api',
      match: [{ host: ['api.shop.drain.invalid'] }],
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: 'shop-api-1:8080' }] }],
      terminal: true
    })
  })

  test("a project's routes among every project's (drain routes and other projects left out)", () => {
    const routes = [
      serviceRoute('shop', 'api', { hosts: ['a.test'], port: 80 }, ['shop-api-1:80']),
      serviceRoute('shop-x', 'web', { hosts: ['b.test'], port: 80 }, ['shop-x-web-1:80']),
      drainRoute('shop', 'api', ['shop-api-0:80'])
    ]
    expect(projectRoutes(JSON.stringify(routes), 'shop')).toEqual([
      { service: 'api', hosts: ['a.test'], upstreams: ['shop-api-1:80'] }
    ])
    expect(projectRoutes('null', 'shop')).toEqual([])
  })

  test('a route read back from Caddy (keys sorted, numbers as Go writes them) is the same route', () => {
    const route = serviceRoute('shop', 'api', { hosts: ['a.test'], port: 80 }, ['shop-api-1:80'])
    const stored = JSON.parse(
      '{"@id":"vd.shop.api","handle":[{"handler":"reverse_proxy","load_balancing":{"try_duration":1e+09,"try_interval":1e+08},"upstreams":[{"dial":"shop-api-1:80"}]}],"match":[{"host":["a.test"]}],"terminal":true}'
    ) as unknown
    expect(sameJson(stored, route)).toBe(true)
    expect(
      sameJson(
        stored,
        serviceRoute('shop', 'api', { hosts: ['a.test'], port: 80 }, ['shop-api-2:80'])
      )
    ).toBe(false)
  })

  test("an admin API that listens beyond the container's loopback is one to move", () => {
    expect(adminOnLoopback('127.0.0.1:2019')).toBe(true)
    expect(adminOnLoopback('localhost:2019')).toBe(true)
    // Caddy's own default: localhost:2019.
    expect(adminOnLoopback(undefined)).toBe(true)
    expect(adminOnLoopback('0.0.0.0:2019')).toBe(false)
    expect(adminOnLoopback(':2019')).toBe(false)
    expect(adminOnLoopback('172.17.0.2:2019')).toBe(false)
  })

  test('the networks the ingress leaves: those where no route of any project names a container', () => {
    const routes = JSON.stringify([
      serviceRoute('shop', 'api', { hosts: ['a.test'], port: 80 }, ['shop-api-2:80']),
      serviceRoute('blog', 'web', { hosts: ['b.test'], port: 80 }, ['blog-web-1:8080']),
      drainRoute('blog', 'web', ['blog-web-0:8080'])
    ])
    const members = parseNetworkMembers(
      [
        'versioned-deploy-ingress versioned-deploy-ingress',
        'bridge versioned-deploy-ingress tenant-x',
        'shop_default versioned-deploy-ingress shop-api-2 shop-db-1',
        'shop_old versioned-deploy-ingress shop-api-1',
        'blog_front versioned-deploy-ingress blog-web-0',
        'blog_default versioned-deploy-ingress blog-web-1',
        'empty_net versioned-deploy-ingress',
        ''
      ].join('\n')
    )
    expect(members.get('shop_default')).toEqual([
      'versioned-deploy-ingress',
      'shop-api-2',
      'shop-db-1'
    ])
    // Its own network stays; a network of a container still draining stays.
    expect(networksToLeave(routes, members)).toEqual(['bridge', 'shop_old', 'empty_net'])
    expect([...routedContainers(routes)]).toEqual(['shop-api-2', 'blog-web-1', 'blog-web-0'])
    expect(networksToLeave('null', new Map([['bridge', []]]))).toEqual(['bridge'])
  })

  test('in-flight counts', () => {
    expect(
      parseUpstreams('[{"address":"a:80","num_requests":2,"fails":0},{"address":"b:80"}]')
    ).toEqual(
      new Map([
        ['a:80', 2],
        ['b:80', 0]
      ])
    )
  })
})

describe('the commands', () => {
  test.each([
    [
      icmd.ingressRun({ image: 'caddy:2', httpPort: 80, httpsPort: 443 }, '{"a":1}'),
      `docker run --detach --name versioned-deploy-ingress --restart unless-stopped --label versioned-deploy.ingress=caddy --label versioned-deploy.ingress.admin=loopback --network versioned-deploy-ingress --sysctl net.ipv4.tcp_migrate_req=1 --publish 80:80 --publish 443:443 --volume versioned-deploy-ingress-data:/data --volume versioned-deploy-ingress-config:/config --env 'VD_INGRESS_CONFIG={"a":1}' --entrypoint sh caddy:2 -c 'printf "%s" "$VD_INGRESS_CONFIG" > /config/versioned-deploy.json && exec caddy run --resume --config /config/versioned-deploy.json'`
    ],
    [
      icmd.ingressRun({ image: 'caddy:2', httpPort: 8080, httpsPort: 0 }, '{}', false),
      `docker run --detach --name versioned-deploy-ingress --restart unless-stopped --label versioned-deploy.ingress=caddy --label versioned-deploy.ingress.admin=loopback --network versioned-deploy-ingress --publish 8080:80 --volume versioned-deploy-ingress-data:/data --volume versioned-deploy-ingress-config:/config --env 'VD_INGRESS_CONFIG={}' --entrypoint sh caddy:2 -c 'printf "%s" "$VD_INGRESS_CONFIG" > /config/versioned-deploy.json && exec caddy run --resume --config /config/versioned-deploy.json'`
    ],
    [
      icmd.ingressState(),
      `docker inspect --type container --format '{{.State.Running}} {{.Config.Image}} {{index .Config.Labels "versioned-deploy.ingress.admin"}}' versioned-deploy-ingress`
    ],
    [icmd.ingressAdminPipe(), 'docker exec -i versioned-deploy-ingress nc 127.0.0.1 2019'],
    [
      icmd.ingressNetworkEnsure(),
      `sh -c 'docker network inspect "$1" >/dev/null 2>&1 || docker network create "$1" >/dev/null || docker network inspect "$1" >/dev/null' sh versioned-deploy-ingress`
    ],
    [icmd.ingressLeave('bridge'), 'docker network disconnect bridge versioned-deploy-ingress'],
    [
      icmd.containerNetworks(['shop-api-1', 'blog-web-1']),
      `docker inspect --type container --format '{{range $name, $_ := .NetworkSettings.Networks}}{{println $name}}{{end}}' shop-api-1 blog-web-1`
    ],
    [
      icmd.networkMembers(['bridge', 'shop_default']),
      `docker network inspect --format '{{.Name}}{{range .Containers}} {{.Name}}{{end}}' bridge shop_default`
    ],
    [icmd.ingressStart(), 'docker start versioned-deploy-ingress'],
    [
      icmd.ingressJoin('shop_default'),
      'docker network connect shop_default versioned-deploy-ingress'
    ],
    [
      icmd.serviceContainers('shop', 'api'),
      'docker ps -aq --no-trunc --filter label=com.docker.compose.project=shop --filter label=com.docker.compose.service=api'
    ],
    [
      icmd.composeScaleUp(
        {
          flavor: 'v2',
          project: 'shop',
          file: '/srv/shop/.deploy/releases/v2/docker-compose.yml',
          projectDirectory: '/srv/shop',
          version: 'v2'
        },
        'api',
        4
      ),
      'env DEPLOY_VERSION=v2 docker compose --project-name shop --file /srv/shop/.deploy/releases/v2/docker-compose.yml --project-directory /srv/shop up -d --no-build --no-deps --no-recreate --scale api=4 api'
    ],
    [icmd.stopContainers(['a', 'b']), 'docker stop a b'],
    [icmd.removeContainers(['a']), 'docker rm --force a']
  ])('%#: %s', (argv, expected) => {
    expect(shJoin(argv)).toBe(expected)
  })
})

describe('where people look', () => {
  test('the summary: each service switched, with its containers, route and drain', () => {
    const blocks = switchBlocks([
      {
        during: 'switch',
        services: [
          {
            service: 'web',
            strategy: 'start-first',
            old: ['shop-web-1'],
            fresh: ['shop-web-2'],
            routeMovedAt: '2026-12-06T15:01:02.345Z',
            drainMs: 1870
          },
          {
            service: 'worker',
            strategy: 'start-first',
            old: ['shop-worker-1'],
            fresh: [],
            unchanged: true
          },
          { service: 'db', strategy: 'stop-first', old: [], fresh: [] }
        ]
      },
      {
        during: 'rollback',
        services: [
          {
            service: 'web',
            strategy: 'start-first',
            old: ['shop-web-2'],
            fresh: ['shop-web-3'],
            routeMovedAt: '2026-12-06T15:01:20.000Z',
            drainMs: 30000,
            cut: 2
          }
        ]
      }
    ])
    expect(blocks).toEqual([
      { kind: 'heading', text: 'Services switched' },
      {
        kind: 'table',
        head: ['Service', 'Strategy', 'Old containers', 'New containers', 'Route moved', 'Drain'],
        rows: [
          ['web', 'start-first', 'shop-web-1', 'shop-web-2', '2026-12-06 15:01:02 UTC', '1.9 s'],
          ['worker', 'start-first', 'shop-worker-1', 'already on this version', '—', '—'],
          ['db', 'stop-first', 'recreated', '—', '—', '—']
        ]
      },
      { kind: 'heading', text: 'Services switched back (rollback)' },
      {
        kind: 'table',
        head: ['Service', 'Strategy', 'Old containers', 'New containers', 'Route moved', 'Drain'],
        rows: [
          [
            'web',
            'start-first',
            'shop-web-2',
            'shop-web-3',
            '2026-12-06 15:01:20 UTC',
            '30.0 s (2 request(s) cut at drain-timeout)'
          ]
        ]
      }
    ])
  })

  test('status: the routes of the project', () => {
    expect(
      routeBlocks([
        { service: 'api', hosts: ['a.test', 'b.test'], path: '/api', upstreams: ['shop-api-2:80'] }
      ])
    ).toEqual([
      { kind: 'heading', text: 'Routes (ingress)' },
      {
        kind: 'table',
        head: ['Service', 'Host names', 'Path', 'Upstreams'],
        rows: [['api', 'a.test, b.test', '/api', 'shop-api-2:80']]
      }
    ])
    expect(routeBlocks([])[1]).toEqual({
      kind: 'text',
      text: 'The ingress has no route of this project.'
    })
  })
})

describe('the stack strategies', () => {
  test('compose keeps images and runs one-offs; a swarm does neither', () => {
    expect([stackStrategy('compose').keepsImages, stackStrategy('compose').runsOneOffs]).toEqual([
      true,
      true
    ])
    expect([stackStrategy('swarm').keepsImages, stackStrategy('swarm').runsOneOffs]).toEqual([
      false,
      false
    ])
    expect([oneOffFlavor('v2'), oneOffFlavor('v1'), oneOffFlavor('swarm')]).toEqual([
      'v2',
      'v1',
      undefined
    ])
  })

  test('where a release runs from', () => {
    const o = parseOptions(raw({ 'deploy-path': '/srv/shop' }), ctx)
    const release = { version: 'v3', services: ['api'] }
    expect(stackStrategy('compose').home(o, release)).toEqual({
      directory: '/srv/shop',
      line: 'compose project directory: /srv/shop'
    })
    expect(stackStrategy('swarm').home(o, release)).toEqual({
      directory: '/srv/shop/.deploy/releases/v3',
      line: 'stack files: /srv/shop/.deploy/releases/v3/ (docker-compose.yml, swarm-images.yml)'
    })
  })
})
