import {
  buildSecretValues,
  cacheLine,
  parseBuilder,
  parseBuildNetwork,
  parseBuildSecrets,
  parseCacheEntries,
  secretEnvironment
} from '../../src/config/parse-build.js'
import { raw, refusal } from './raw-inputs.js'
import { parseOptions } from '../../src/config/parse.js'
import type { RunContext } from '../../src/config/inputs.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}

describe('builder', () => {
  test.each([
    ['', undefined],
    ['  ', undefined],
    ['default', 'default'],
    [' ci-builder.2 ', 'ci-builder.2']
  ])('%j is %j', (text, builder) => {
    expect(parseBuilder(text)).toBe(builder)
  })
  test.each(['--help', 'a b', 'x;y'])('%j is refused', text => {
    expect(refusal(() => parseBuilder(text))).toBe(
      `Input "builder": "${text}" is not a builder name (letters, digits and . _ + -, starting with a letter or digit): see docker buildx ls`
    )
  })
})

describe('build-network', () => {
  test.each([
    ['', 'default'],
    ['host', 'host'],
    ['none', 'none']
  ])('%j is %s', (text, network) => {
    expect(parseBuildNetwork(text)).toBe(network)
  })
  test('anything else is refused', () => {
    expect(refusal(() => parseBuildNetwork('bridge'))).toBe(
      `Input "build-network": "bridge" is not one of default, host, none (the network of the Dockerfile's RUN steps)`
    )
  })
})

describe('build-secrets', () => {
  test('id=value lines, each carried by a variable of its own', () => {
    expect(
      parseBuildSecrets('npm_token=abc=def\n\n# comment\n  sentry.dsn = https://x@y/1  ')
    ).toEqual([
      { id: 'npm_token', value: 'abc=def', env: 'VERSIONED_DEPLOY_BUILD_SECRET_1' },
      { id: 'sentry.dsn', value: 'https://x@y/1', env: 'VERSIONED_DEPLOY_BUILD_SECRET_2' }
    ])
    expect(parseBuildSecrets('')).toEqual([])
  })

  // The refusals name the line by its number: the line may be a pasted secret value.
  test.each([
    [
      'tok=a\n\n# the token\nghp_pastedvalue',
      'Input "build-secrets": line 4 has no "=": write each secret as id=value (the id the Dockerfile mounts with --mount=type=secret,id=…)'
    ],
    [
      '=ghp_value',
      'Input "build-secrets": line 1: the id before "=" must be letters, digits and . _ - (starting with a letter or digit)'
    ],
    [
      'a,b=ghp_value',
      'Input "build-secrets": line 1: the id before "=" must be letters, digits and . _ - (starting with a letter or digit)'
    ],
    [
      'tok=',
      'Input "build-secrets": line 1: secret "tok" has an empty value (is the secret it comes from defined for this repository and environment?)'
    ],
    ['tok=a\ntok=b', 'Input "build-secrets": secret "tok" is given twice']
  ])('%j is refused', (text, message) => {
    expect(refusal(() => parseBuildSecrets(text))).toBe(message)
  })
})

describe('cache-from and cache-to', () => {
  test('buildx lines, a bare reference being a registry', () => {
    expect(
      parseCacheEntries(
        'cache-from',
        'type=gha\ntype=registry,ref=ghcr.io/acme/web:cache, mode=max\nghcr.io/acme/api:cache\ntype=local,src=/tmp/c'
      )
    ).toEqual([
      { type: 'gha', attrs: [] },
      {
        type: 'registry',
        attrs: [
          ['ref', 'ghcr.io/acme/web:cache'],
          ['mode', 'max']
        ]
      },
      { type: 'registry', attrs: [['ref', 'ghcr.io/acme/api:cache']] },
      { type: 'local', attrs: [['src', '/tmp/c']] }
    ])
    expect(parseCacheEntries('cache-to', 'type=inline\ntype=gha,scope=web,mode=max')).toEqual([
      { type: 'inline', attrs: [] },
      {
        type: 'gha',
        attrs: [
          ['scope', 'web'],
          ['mode', 'max']
        ]
      }
    ])
  })

  test.each<['cache-from' | 'cache-to', string, string]>([
    [
      'cache-to',
      'type=ftp,dest=x',
      '"type=ftp,dest=x" has type "ftp": use one of registry, local, inline, gha, s3, azblob'
    ],
    [
      'cache-to',
      'mode=max',
      '"mode=max" has no type=: use one of registry, local, inline, gha, s3, azblob'
    ],
    ['cache-to', 'type=local,src=/c', '"type=local,src=/c" needs dest=…'],
    ['cache-from', 'type=local,dest=/c', '"type=local,dest=/c" needs src=…'],
    ['cache-from', 'type=registry', '"type=registry" needs ref=…'],
    ['cache-from', 'type=s3,name=x', '"type=s3,name=x" needs region=… and bucket=…'],
    ['cache-from', 'type=gha,oops', '"type=gha,oops": "oops" is not key=value'],
    ['cache-from', 'a b', '"a b" is not type=…,key=value,… nor an image reference'],
    [
      'cache-from',
      'type=inline',
      '"type=inline": an inline cache is read from the image it was pushed with: write type=registry,ref=<that image>'
    ]
  ])('%s %j is refused', (name, text, message) => {
    expect(refusal(() => parseCacheEntries(name, text))).toBe(`Input "${name}": ${message}`)
  })

  test('a credential is refused without quoting the line', () => {
    const message = refusal(() =>
      parseCacheEntries('cache-to', 'type=gha,token=ghs_SECRET,url=https://cache/')
    )
    expect(message).toBe(
      `Input "cache-to": a line of type gha has token=…, which would put a credential in the build's command line: leave it out; buildx reads it from ACTIONS_RUNTIME_TOKEN in the job's environment`
    )
    expect(
      refusal(() => parseCacheEntries('cache-from', 'secret_access_key=SECRET,type=s3,bogus'))
    ).toBe(
      `Input "cache-from": a line of type s3 has secret_access_key=…, which would put a credential in the build's command line: leave it out; buildx reads it from AWS_SECRET_ACCESS_KEY in the job's environment`
    )
  })
})

describe('cacheLine', () => {
  test.each([
    ['type=gha', 'type=gha,scope=web'],
    ['type=gha,mode=max', 'type=gha,mode=max,scope=web'],
    ['type=gha,scope=shared', 'type=gha,scope=shared'],
    ['ghcr.io/acme/web:cache', 'type=registry,ref=ghcr.io/acme/web:cache'],
    ['type=local, dest=/tmp/c', 'type=local,dest=/tmp/c']
  ])('%s is %s for service web', (line, expected) => {
    const [entry] = parseCacheEntries('cache-to', line)
    expect(entry && cacheLine(entry, 'web')).toBe(expected)
  })
})

describe('secretEnvironment', () => {
  test('each value under its own variable', () => {
    expect(secretEnvironment(parseBuildSecrets('a=1\nb=2'))).toEqual({
      VERSIONED_DEPLOY_BUILD_SECRET_1: '1',
      VERSIONED_DEPLOY_BUILD_SECRET_2: '2'
    })
  })
})

describe('the build inputs of a run', () => {
  test('defaults: no builder, no secret, the builder network, no cache', () => {
    expect(parseOptions(raw(), ctx).build).toEqual({
      secrets: [],
      network: 'default',
      cacheFrom: [],
      cacheTo: []
    })
  })

  test('all given', () => {
    const o = parseOptions(
      raw({
        builder: 'ci',
        'build-secrets': 'npm=tok-1\ngh = tok 2',
        'build-network': 'host',
        'cache-from': 'type=gha',
        'cache-to': 'type=gha,mode=max'
      }),
      ctx
    )
    expect(o.build).toEqual({
      builder: 'ci',
      secrets: [
        { id: 'npm', value: 'tok-1', env: 'VERSIONED_DEPLOY_BUILD_SECRET_1' },
        { id: 'gh', value: 'tok 2', env: 'VERSIONED_DEPLOY_BUILD_SECRET_2' }
      ],
      network: 'host',
      cacheFrom: [{ type: 'gha', attrs: [] }],
      cacheTo: [{ type: 'gha', attrs: [['mode', 'max']] }]
    })
  })

  test('a bad one is refused naming the input, and never quotes a secret', () => {
    const message = refusal(() => parseOptions(raw({ 'build-secrets': 'tok-without-id' }), ctx))
    expect(message).toMatch(/^Input "build-secrets": line 1 has no "="/)
    expect(message).not.toContain('tok-without-id')
  })

  test("the values to mask: each line's value alone, whatever its length", () => {
    expect(buildSecretValues('npm=abc\n# a comment=no\n\n gh = a=b \nbroken')).toEqual([
      'abc',
      'a=b'
    ])
  })
})
