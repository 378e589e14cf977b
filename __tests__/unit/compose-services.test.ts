// A deploy with the services input empty builds the compose file's services that have a build:
// section (read in the validate phase, before anything is built).

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseOptions } from '../../src/config/parse.js'
import type { RunContext } from '../../src/config/inputs.js'
import { composeServices } from '../../src/engine/runner/local-files.js'
import { raw, refusal } from './raw-inputs.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}

function project(compose: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-compose-services-'))
  mkdirSync(path.join(dir, 'web'))
  writeFileSync(path.join(dir, 'docker-compose.yml'), compose)
  const o = parseOptions(
    raw({ services: '', 'compose-file': 'docker-compose.yml', project: 'shop', version: 'v1' }),
    { ...ctx, workspace: dir }
  )
  return { dir, o }
}

test('a deploy may leave services empty: they come from the compose file', () => {
  expect(parseOptions(raw({ services: '' }), ctx).services).toEqual([])
})

test("the compose file's build: sections are the services to build, with what they add", () => {
  const notices: string[] = []
  const { dir, o } = project(`services:
  web:
    image: shop-web:\${DEPLOY_VERSION}
    build:
      context: ./web
      dockerfile: Dockerfile.prod
      target: runtime
      args:
        NODE_ENV: production
      cache_from:
        - type=registry,ref=127.0.0.1:5000/shop-web:cache
      labels: [a=b]
  api:
    image: shop-api:\${DEPLOY_VERSION}
    build: .
  db:
    image: postgres:16
`)
  expect(composeServices(o, { PATH: '/usr/bin', EMPTY: '' }, m => notices.push(m))).toEqual([
    {
      name: 'web',
      context: path.join(dir, 'web'),
      dockerfile: 'Dockerfile.prod',
      target: 'runtime',
      compose: {
        args: { NODE_ENV: 'production' },
        secrets: [],
        cacheFrom: ['type=registry,ref=127.0.0.1:5000/shop-web:cache'],
        cacheTo: []
      }
    },
    {
      name: 'api',
      context: dir,
      dockerfile: 'Dockerfile',
      compose: { args: {}, secrets: [], cacheFrom: [], cacheTo: [] }
    }
  ])
  expect(notices).toEqual([
    'docker-compose.yml: services.web.build.labels is not supported by the action and is left out of the build'
  ])
})

test('neither services nor a build: section: services is required', () => {
  const { o } = project('services:\n  db:\n    image: postgres:16\n')
  expect(refusal(() => composeServices(o, {}, () => undefined))).toBe(
    'Input "services": is required: one "service=build-context" a line, unless services of docker-compose.yml have a build: section'
  )
})

test('a build: section the action cannot build is refused naming its key', () => {
  const { o } = project(
    'services:\n  web:\n    image: shop-web:${DEPLOY_VERSION}\n    build: https://github.com/acme/web.git\n'
  )
  expect(refusal(() => composeServices(o, {}, () => undefined))).toMatch(
    /^Input "compose-file": docker-compose.yml: services.web.build.context "https:\/\/github.com\/acme\/web.git" is a remote context/
  )
})

test('a build: section of a service whose name is no image name is refused', () => {
  const { o } = project('services:\n  Web:\n    image: shop-web:${DEPLOY_VERSION}\n    build: .\n')
  expect(refusal(() => composeServices(o, {}, () => undefined))).toMatch(
    /^Input "compose-file": docker-compose.yml: service "Web" has a build: section, but its image would be shop-Web/
  )
})
