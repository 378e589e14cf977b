import { unchangedServices, type UnchangedQuestion } from '../../src/plan/unchanged-services.js'

const STACK = `
services:
  web:
    image: shop-web:\${DEPLOY_VERSION:-latest}
    build: ./web
    environment:
      API: http://api:8080
  api:
    image: shop-api:\${DEPLOY_VERSION}
    env_file: ./api.env
    depends_on: [db]
  worker:
    image: shop-worker:\${DEPLOY_VERSION}
    stop_grace_period: 10s
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data: {}
`

/** Reproducible builds: only api's image changed between v1 and v2. */
const IDS = {
  'shop-web:v1': 'sha256:web',
  'shop-web:v2': 'sha256:web',
  'shop-api:v1': 'sha256:api1',
  'shop-api:v2': 'sha256:api2',
  'shop-worker:v1': 'sha256:worker',
  'shop-worker:v2': 'sha256:worker'
}

function question(over: Partial<UnchangedQuestion> = {}, nextText = STACK): UnchangedQuestion {
  const services = ['web', 'api', 'worker']
  return {
    project: 'shop',
    running: { version: 'v1', text: STACK, services, projectDirectory: '/srv/shop' },
    next: { version: 'v2', text: nextText, services, projectDirectory: '/srv/shop' },
    imageIds: IDS,
    ...over
  }
}

describe('unchangedServices', () => {
  test('an app-only change to one service: the others keep their containers', () => {
    expect(unchangedServices(question())).toEqual({
      unchanged: ['web', 'worker', 'db'],
      changed: [{ service: 'api', reason: 'its image changed (shop-api:v2 is not shop-api:v1)' }]
    })
  })

  test('the same images and definitions: nothing is recreated', () => {
    const q = question({ imageIds: { ...IDS, 'shop-api:v2': 'sha256:api1' } })
    expect(unchangedServices(q)).toEqual({ unchanged: ['web', 'api', 'worker', 'db'], changed: [] })
  })

  test('DEPLOY_VERSION outside the image tag makes the definition differ', () => {
    const text = STACK.replace(
      'stop_grace_period: 10s',
      'environment: [APP_VERSION=$DEPLOY_VERSION]'
    )
    const q = question({ running: { ...question().running, text } }, text)
    expect(unchangedServices(q).changed).toContainEqual({
      service: 'worker',
      reason: 'its definition differs'
    })
  })

  test('a changed setting, a new service, and a service not running are recreated', () => {
    const next = `${STACK.replace('stop_grace_period: 10s', 'stop_grace_period: 30s').replace(
      'volumes:\n  data',
      'volumes:\n  data'
    )}`.replace('  db:\n', '  cron:\n    image: shop-worker:${DEPLOY_VERSION}\n  db:\n')
    const q = question({ notRunning: ['web'] }, next)
    expect(unchangedServices(q)).toEqual({
      unchanged: ['db'],
      changed: [
        { service: 'web', reason: 'its containers are not all running' },
        { service: 'api', reason: 'its image changed (shop-api:v2 is not shop-api:v1)' },
        { service: 'worker', reason: 'its definition differs' },
        { service: 'cron', reason: 'it is new in this version' }
      ]
    })
  })

  test('mapping order and the build: section do not count; list order does', () => {
    const next = STACK.replace('build: ./web', 'build: {context: ./web, args: {X: "2"}}').replace(
      '    image: shop-web:${DEPLOY_VERSION:-latest}\n    build: {context: ./web, args: {X: "2"}}\n    environment:\n      API: http://api:8080',
      '    environment:\n      API: http://api:8080\n    image: shop-web:${DEPLOY_VERSION:-latest}'
    )
    expect(unchangedServices(question({}, next)).unchanged).toContain('web')
  })

  test('an image ID the server lacks, or a tag that moved to another image, is a change', () => {
    const missing = { ...IDS, 'shop-worker:v1': undefined }
    expect(unchangedServices(question({ imageIds: missing })).changed).toContainEqual({
      service: 'worker',
      reason: 'the image ID of shop-worker:v1 is unknown'
    })
    const next = STACK.replace('postgres:16', 'postgres:17')
    expect(unchangedServices(question({}, next)).changed).toContainEqual({
      service: 'db',
      reason: 'its image differs'
    })
  })

  test('a fixed tag replaced by the versioned image is a change, even with the same ID', () => {
    const running = STACK.replace('shop-worker:${DEPLOY_VERSION}', 'shop-worker:v1')
    const q = question({ running: { ...question().running, text: running } })
    expect(unchangedServices(q).changed).toContainEqual({
      service: 'worker',
      reason: 'its image differs'
    })
  })

  test('relative paths count where they resolve: a release folder of its own is a change', () => {
    const own = question({
      running: { ...question().running, projectDirectory: '/srv/shop/.deploy/releases/v1' },
      next: { ...question().next, projectDirectory: '/srv/shop/.deploy/releases/v2' },
      imageIds: { ...IDS, 'shop-api:v2': 'sha256:api1' }
    })
    expect(unchangedServices(own)).toEqual({
      unchanged: ['web', 'worker', 'db'],
      changed: [{ service: 'api', reason: 'its definition differs' }]
    })
  })

  test('a variable of the server keeps its name: another name is a change', () => {
    const text = STACK.replace('stop_grace_period: 10s', 'command: [run, "${QUEUE}"]')
    const same = question({ running: { ...question().running, text } }, text)
    expect(unchangedServices(same).unchanged).toContain('worker')
    const other = question(
      { running: { ...question().running, text } },
      text.replace('QUEUE', 'TOPIC')
    )
    expect(unchangedServices(other).changed).toContainEqual({
      service: 'worker',
      reason: 'its definition differs'
    })
  })

  test('services tied to a recreated one are recreated with it', () => {
    const ties = `${STACK}
  sidecar:
    image: busybox
    network_mode: service:api
  backup:
    image: busybox
    volumes_from: [sidecar]
  watcher:
    image: busybox
    depends_on:
      worker: {condition: service_started, restart: true}
      api: {condition: service_started}
`.replace('volumes:\n  data: {}\n', '')
    const text = `${ties}volumes:\n  data: {}\n`
    const q = question({ running: { ...question().running, text } }, text)
    expect(unchangedServices(q).changed).toEqual([
      { service: 'api', reason: 'its image changed (shop-api:v2 is not shop-api:v1)' },
      { service: 'sidecar', reason: 'it shares the network of api, which is recreated' },
      { service: 'backup', reason: 'it mounts the volumes of sidecar, which is recreated' }
    ])
    const worker = question(
      { running: { ...q.running }, imageIds: { ...IDS, 'shop-worker:v2': 'x' } },
      text
    )
    expect(unchangedServices(worker).changed).toContainEqual({
      service: 'watcher',
      reason: 'it restarts with (depends_on restart: true) worker, which is recreated'
    })
  })

  test('a top-level section that differs, or a file that does not parse, recreates everything', () => {
    const next = STACK.replace('data: {}', 'data: {driver: nfs}')
    expect(unchangedServices(question({}, next))).toEqual({
      unchanged: [],
      changed: ['web', 'api', 'worker', 'db'].map(service => ({
        service,
        reason: 'the top-level volumes: section differs'
      }))
    })
    const broken = question({ running: { ...question().running, text: 'services: [' } })
    expect(unchangedServices(broken).unchanged).toEqual([])
  })
})
