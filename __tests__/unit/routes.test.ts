// The ingress routes what each project meant, and only that (issue 30, point 6): where a route
// goes among the server's (the longest path prefix first), which host names another project
// has, the upstreams a drain counts, the ports a running ingress publishes, and route paths.

import {
  drainRoute,
  insertionIndex,
  publishedPorts,
  routeClashes,
  serviceRoute,
  upstreamDials
} from '../../src/plan/caddy-config.js'
import { stackPlan, type IngressRoute } from '../../src/plan/stack-plan.js'

const route = (project: string, service: string, hosts: string[], path?: string) =>
  serviceRoute(project, service, { hosts, port: 80, ...(path ? { path } : {}) }, [`${service}:80`])

describe('where a route goes', () => {
  const server = JSON.stringify([
    route('a', 'api', ['x.test'], '/api/v1'),
    route('b', 'api', ['x.test'], '/api'),
    route('a', 'web', ['x.test']),
    drainRoute('a', 'web', ['old:80'])
  ])
  test.each([
    ['/api/v1/admin', 0],
    ['/api/v2', 1],
    ['/api', 2],
    ['/x', 2],
    [undefined, 3]
  ])('a route with path %s goes at %i', (path, at) => {
    expect(insertionIndex(server, path)).toBe(at)
  })

  test('among no routes: first', () => {
    expect(insertionIndex('[]', '/api')).toBe(0)
    expect(insertionIndex('null', undefined)).toBe(0)
  })
})

describe('a host name and path belong to one project', () => {
  const server = JSON.stringify([
    route('shop', 'api', ['shop.test', 'www.shop.test'], '/api'),
    route('shop', 'web', ['shop.test']),
    drainRoute('shop', 'web', ['old:80'])
  ])
  const mine = (hosts: string[], path?: string): { service: string; route: IngressRoute }[] => [
    { service: 'front', route: { hosts, port: 80, ...(path ? { path } : {}) } }
  ]

  test('the same host and path: refused, naming both projects', () => {
    expect(routeClashes(server, 'blog', mine(['www.shop.test'], '/api'))).toEqual([
      'www.shop.test/api is routed by project "shop" (service api): project "blog" (service front) cannot take it'
    ])
    expect(routeClashes(server, 'blog', mine(['shop.test']))).toEqual([
      'shop.test is routed by project "shop" (service web): project "blog" (service front) cannot take it'
    ])
  })

  test("another path of the same host, another host, or the project's own routes: no clash", () => {
    expect(routeClashes(server, 'blog', mine(['shop.test'], '/blog'))).toEqual([])
    expect(routeClashes(server, 'blog', mine(['blog.test']))).toEqual([])
    expect(routeClashes(server, 'shop', mine(['shop.test']))).toEqual([])
  })
})

test("the upstreams a route names now (what a drain counts), and a running ingress's ports", () => {
  expect(upstreamDials(JSON.stringify(route('a', 'web', ['x.test'])))).toEqual(['web:80'])
  expect(upstreamDials('null')).toEqual([])
  expect(
    publishedPorts(
      '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"443/tcp":[{"HostIp":"","HostPort":"8443"}]}'
    )
  ).toEqual({ http: 8080, https: 8443 })
  expect(publishedPorts('{"80/tcp":[{"HostIp":"","HostPort":"80"}]}')).toEqual({
    http: 80,
    https: 0
  })
})

describe('route paths', () => {
  const compose = (path: string) => `services:
  web:
    image: web
    labels:
      versioned-deploy.ingress.host: x.test
      versioned-deploy.ingress.port: "80"
      versioned-deploy.ingress.path: "${path}"
`
  test.each([
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/', undefined]
  ])('%s is the prefix %s', (path, prefix) => {
    const plan = stackPlan(compose(path))
    expect(plan.problems).toEqual([])
    expect(plan.services[0]?.route?.path).toBe(prefix)
  })

  test.each(['//', '/api//', '/a//b', '/a/./b', '/a/../b'])('%s is refused', path => {
    expect(stackPlan(compose(path)).problems).toEqual([
      `service "web": versioned-deploy.ingress.path "${path}" has an empty, "." or ".." segment: write the prefix once, as requests name it (e.g. "/api")`
    ])
  })
})
