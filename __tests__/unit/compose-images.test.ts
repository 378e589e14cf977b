import { checkComposeImages, classifyImage } from '../../src/plan/compose-images.js'
import { interpolate, UNKNOWN_MARK, VERSION_MARK } from '../../src/plan/compose-vars.js'

const V = VERSION_MARK
const U = UNKNOWN_MARK

describe('interpolate', () => {
  test.each<[string, string, string[]]>([
    ['app-api:$DEPLOY_VERSION', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION}', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION:-latest}', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION-latest}', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION:?must be set}', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION?must be set}', `app-api:${V}`, []],
    ['app-api:${DEPLOY_VERSION:-${OTHER:-x}}', `app-api:${V}`, []],
    // DEPLOY_VERSION is always set, so `+` gives its operand.
    ['app-api:${DEPLOY_VERSION:+stable}', 'app-api:stable', []],
    ['app-api:${DEPLOY_VERSION+$TAG}', `app-api:${U}`, ['TAG']],
    ['app-api:latest', 'app-api:latest', []],
    ['$$literal', '$literal', []],
    ['$REGISTRY/app-api:${TAG:-latest}', `${U}/app-api:${U}`, ['REGISTRY', 'TAG']],
    ['${REG}/app:${REG}', `${U}/app:${U}`, ['REG']],
    ['app-$DEPLOY_VERSIONX', `app-${U}`, ['DEPLOY_VERSIONX']],
    ['cost: 5$', 'cost: 5$', []]
  ])('%s', (text, expected, unknown) => {
    expect(interpolate(text)).toEqual({ text: expected, unknown })
  })

  test.each(['app:${DEPLOY_VERSION', 'app:${}', 'app:${1X}', 'app:${X!y}'])(
    '%s is an interpolation error',
    text => {
      expect(() => interpolate(text)).toThrow(/invalid variable|without its/)
    }
  )
})

describe('classifyImage', () => {
  test.each<[string, ReturnType<typeof classifyImage>]>([
    ['app-api:${DEPLOY_VERSION:-latest}', { kind: 'versioned', repo: 'app-api' }],
    ['docker.io/library/app-api:$DEPLOY_VERSION', { kind: 'versioned', repo: 'app-api' }],
    [
      'localhost:5000/app-api:${DEPLOY_VERSION}',
      { kind: 'versioned', repo: 'localhost:5000/app-api' }
    ],
    [
      'app-api:latest',
      { kind: 'fixed', repo: 'app-api', reason: 'is pinned to the fixed tag :latest' }
    ],
    ['app-api', { kind: 'fixed', repo: 'app-api', reason: 'has no tag (so it runs :latest)' }],
    [
      'localhost:5000/app-api',
      { kind: 'fixed', repo: 'localhost:5000/app-api', reason: 'has no tag (so it runs :latest)' }
    ],
    ['app-api@sha256:abc', { kind: 'fixed', repo: 'app-api', reason: 'is pinned to a digest' }],
    [
      'app-api:v-${DEPLOY_VERSION}',
      { kind: 'fixed', repo: 'app-api', reason: 'has a tag that is not DEPLOY_VERSION alone' }
    ],
    ['app-api:${API_TAG:-latest}', { kind: 'unknown', variables: ['API_TAG'] }]
  ])('%s', (image, expected) => {
    expect(classifyImage(image)).toEqual(expected)
  })
})

const compose = (services: Record<string, string | undefined>, extra = '') =>
  [
    'services:',
    ...Object.entries(services).flatMap(([name, image]) => [
      `  ${name}:`,
      image === undefined ? '    build: .' : `    image: "${image}"`,
      '    network_mode: host'
    ]),
    extra
  ].join('\n')

describe('checkComposeImages', () => {
  const good = compose({
    api: 'app-api:${DEPLOY_VERSION:-latest}',
    web: 'app-web:$DEPLOY_VERSION',
    postgres: 'postgres:16'
  })

  test('every built image tagged from DEPLOY_VERSION passes; other images are not ours', () => {
    expect(checkComposeImages(good, 'app', ['api', 'web'])).toEqual({ problems: [], warnings: [] })
  })

  test('a built image pinned to :latest is refused, naming the service and the line to write', () => {
    const text = compose({ api: 'app-api:latest', web: 'app-web:${DEPLOY_VERSION}' })
    const { problems } = checkComposeImages(text, 'app', ['api', 'web'])
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(
      'services.api.image "app-api:latest" is pinned to the fixed tag :latest'
    )
    expect(problems[0]).toContain('Write: image: app-api:${DEPLOY_VERSION:-latest}')
  })

  test.each([['app-api'], ['app-api:1.2.3'], ['app-api@sha256:0123']])(
    'a fixed image %s is refused',
    image => {
      const { problems } = checkComposeImages(compose({ api: image }), 'app', ['api'])
      expect(problems).toEqual([expect.stringContaining(`services.api.image "${image}"`)])
    }
  )

  test('a built image that no service uses is refused', () => {
    const text = compose({ api: 'app-api:${DEPLOY_VERSION}' })
    const { problems } = checkComposeImages(text, 'app', ['api', 'worker'])
    expect(problems).toEqual([
      'the image app-worker (service "worker" of the services input) is not the image: of any compose service (no service runs it). Write in the service that runs it: image: app-worker:${DEPLOY_VERSION:-latest}'
    ])
  })

  test('a compose service with the built name but no image: is named', () => {
    const text = compose({ api: undefined })
    expect(checkComposeImages(text, 'app', ['api']).problems[0]).toContain(
      '(services.api has no image:)'
    )
  })

  test('several services sharing one image: each must use DEPLOY_VERSION', () => {
    const shared = compose({
      api: 'app-api:${DEPLOY_VERSION}',
      worker: 'app-api:${DEPLOY_VERSION:-latest}'
    })
    expect(checkComposeImages(shared, 'app', ['api'])).toEqual({ problems: [], warnings: [] })
    const oneFixed = compose({ api: 'app-api:${DEPLOY_VERSION}', worker: 'app-api:latest' })
    expect(checkComposeImages(oneFixed, 'app', ['api']).problems).toEqual([
      expect.stringContaining('services.worker.image "app-api:latest"')
    ])
  })

  test('an image behind a variable the action cannot resolve is a warning, not a refusal', () => {
    const text = compose({ api: 'app-api:${API_TAG:-latest}', web: 'app-web:${DEPLOY_VERSION}' })
    expect(checkComposeImages(text, 'app', ['api', 'web'])).toEqual({
      problems: [],
      warnings: [
        expect.stringMatching(
          /^services\.api\.image "app-api:\$\{API_TAG:-latest\}" uses \$API_TAG/
        )
      ]
    })
    // With every built image accounted for, a third-party image with a variable says nothing.
    const other = compose({ api: 'app-api:${DEPLOY_VERSION}', db: 'postgres:${PG_VERSION}' })
    expect(checkComposeImages(other, 'app', ['api'])).toEqual({ problems: [], warnings: [] })
    // A built image not found while another image is unresolvable: that one may be it.
    const hidden = compose({ api: '${API_IMAGE}' })
    expect(checkComposeImages(hidden, 'app', ['api'])).toEqual({
      problems: [],
      warnings: [expect.stringContaining('Safer: image: app-api:${DEPLOY_VERSION:-latest}')]
    })
  })

  test('YAML anchors and merge keys are followed', () => {
    const text = [
      'x-app: &app',
      '  image: app-api:latest',
      'services:',
      '  api:',
      '    <<: *app',
      '    network_mode: host'
    ].join('\n')
    expect(checkComposeImages(text, 'app', ['api']).problems).toEqual([
      expect.stringContaining('services.api.image "app-api:latest"')
    ])
  })

  test.each<[string, RegExp]>([
    ['services:\n  api: [unclosed\n', /^not valid YAML: /],
    ['services: {a: 1\n', /^not valid YAML: /],
    ['version: "3"\n', /^no "services:" mapping/],
    ['services:\n  - api\n', /^no "services:" mapping/],
    ['just text', /^no "services:" mapping/],
    ['', /^no "services:" mapping/]
  ])('malformed: %j', (text, problem) => {
    expect(checkComposeImages(text, 'app', ['api'])).toEqual({
      problems: [expect.stringMatching(problem)],
      warnings: []
    })
  })

  test('an invalid interpolation is reported with the service', () => {
    const text = compose({ api: 'app-api:${DEPLOY_VERSION' })
    expect(checkComposeImages(text, 'app', ['api']).problems[0]).toMatch(
      /^services\.api\.image: .*without its/
    )
  })
})
