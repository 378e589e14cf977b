import { envSource, fileSource, flagSource, mergeSources } from '../../src/cli/sources.js'
import { maskOf, secretsOf } from '../../src/cli/mask.js'
import { UsageError } from '../../src/cli/usage-error.js'

const refusal = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError)
    return (e as Error).message
  }
  throw new Error('accepted')
}

describe('the environment', () => {
  test('VERSIONED_DEPLOY_<NAME>: upper case, "-" as "_"; empty counts as unset; others are reported', () => {
    const { source, unknown } = envSource({
      VERSIONED_DEPLOY_DEPLOY_PATH: '/srv/app',
      VERSIONED_DEPLOY_KEY_FILE: 'id',
      VERSIONED_DEPLOY_SKIP_BUILD: 'true',
      VERSIONED_DEPLOY_HOST: '',
      VERSIONED_DEPLOY_HOSTNAME: 'x',
      HOME: '/root'
    })
    expect(source.given).toEqual({
      'deploy-path': '/srv/app',
      'key-file': 'id',
      'skip-build': 'true'
    })
    expect(unknown).toEqual(['VERSIONED_DEPLOY_HOSTNAME'])
    expect(source.where('deploy-path')).toBe('VERSIONED_DEPLOY_DEPLOY_PATH')
  })
})

describe('the config file', () => {
  test('option names as keys; a multi-line value as a block string or a list; text as written', () => {
    const text = [
      'host: example.test',
      'port: 2222',
      'version: 1.10',
      'skip-healthcheck: true',
      'key-file: ~/.ssh/deploy',
      'services:',
      '  - api=./api',
      '  - web=./web',
      'healthchecks: |',
      '  http://127.0.0.1:8080/health',
      '  tcp://127.0.0.1:5432',
      'files:',
      '# a comment',
      ''
    ].join('\n')
    expect(fileSource(text, 'versioned-deploy.yml').given).toEqual({
      host: 'example.test',
      port: '2222',
      version: '1.10',
      'skip-healthcheck': 'true',
      'key-file': '~/.ssh/deploy',
      services: 'api=./api\nweb=./web',
      healthchecks: 'http://127.0.0.1:8080/health\ntcp://127.0.0.1:5432\n',
      files: ''
    })
    expect(fileSource('', 'f.yml').given).toEqual({})
    expect(fileSource('# nothing\n', 'f.yml').given).toEqual({})
  })

  test('refused: not YAML, not a mapping, an unknown option, a list for one value', () => {
    expect(refusal(() => fileSource('host: a: b\n', 'vd.yml'))).toBe(
      'vd.yml is not valid YAML: Nested mappings are not allowed in compact mappings at line 1, column 7'
    )
    expect(refusal(() => fileSource('host: a\nhost: b\n', 'vd.yml'))).toMatch(
      /^vd.yml is not valid YAML: Map keys must be unique at line 2/
    )
    expect(refusal(() => fileSource('- host\n', 'vd.yml'))).toMatch(/must be a mapping/)
    const unknown = refusal(() => fileSource('hots: a\n', 'vd.yml'))
    expect(unknown).toMatch(
      /^vd.yml: "hots" is not an option\. Options: method, orchestrator, compression, version, .*, key-file$/
    )
    expect(unknown).toContain('deploy-path')
    expect(refusal(() => fileSource('command: rollback\n', 'vd.yml'))).toMatch(
      /"command" is not an option \(the command is the first argument\)/
    )
    expect(refusal(() => fileSource('port: [22, 23]\n', 'vd.yml'))).toBe(
      'vd.yml: "port" must be one value'
    )
    expect(fileSource('host: [a, b]\n', 'vd.yml').given.host).toBe('a\nb')
    expect(refusal(() => fileSource('services: {api: x}\n', 'vd.yml'))).toBe(
      'vd.yml: "services" must be a value, a block string or a list'
    )
  })

  test('a YAML error never shows the line it is on (it may be a key)', () => {
    const text = 'key: |\n  -----BEGIN\n secretline: x: y\n'
    expect(refusal(() => fileSource(text, 'vd.yml'))).not.toContain('secretline')
  })
})

describe('precedence: flag, environment, file, default', () => {
  const file = fileSource(
    'host: file.test\nport: "2200"\nusername: filer\nkey-file: id_file\n',
    'vd.yml'
  )
  const env = envSource({ VERSIONED_DEPLOY_PORT: '2300', VERSIONED_DEPLOY_USERNAME: 'envy' }).source
  const flags = flagSource({ username: 'flagged' })

  test('each option from the first source that gives it; the rest stay empty (default)', () => {
    const m = mergeSources([flags, env, file])
    expect(m.raw).toMatchObject({
      host: 'file.test',
      port: '2300',
      username: 'flagged',
      key: '',
      'deploy-path': '',
      command: ''
    })
    expect(m.origin).toEqual({
      host: 'host in vd.yml',
      port: 'VERSIONED_DEPLOY_PORT',
      username: '--username',
      key: 'key-file in vd.yml'
    })
    expect(m.keyFile).toEqual({ path: 'id_file', where: 'key-file in vd.yml' })
  })

  test('key and key-file are one choice: a higher source with --key beats a lower key-file', () => {
    const m = mergeSources([flagSource({ key: 'KEYTEXT' }), env, file])
    expect([m.raw.key, m.keyFile, m.origin.key]).toEqual(['KEYTEXT', undefined, '--key'])
    const fromEnv = mergeSources([
      flags,
      envSource({ VERSIONED_DEPLOY_KEY_FILE: 'id_env' }).source,
      file
    ])
    expect(fromEnv.keyFile).toEqual({ path: 'id_env', where: 'VERSIONED_DEPLOY_KEY_FILE' })
  })

  test('one source with both key and key-file is refused', () => {
    expect(refusal(() => mergeSources([flagSource({ key: 'K', 'key-file': 'f' })]))).toBe(
      '--key and --key-file are both given: give one'
    )
  })
})

describe('the mask', () => {
  const KEY = [
    '-----BEGIN OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=',
    'short',
    '-----END OPENSSH PRIVATE KEY-----',
    ''
  ].join('\n')

  test('every secret of every source, a key as a whole and each line of at least 8 characters', () => {
    const secrets = secretsOf(
      [
        { passphrase: 'pass"phrase', host: 'example.test' },
        { 'registry-password': 'hunter22' },
        {}
      ],
      KEY
    )
    const mask = maskOf(secrets)
    expect(mask(`key:\n${KEY}`)).toBe('key:\n***\n')
    expect(mask('line b3BlbnNzaC1rZXktdjEAAAAABG5vbmU= and short')).toBe('line *** and short')
    expect(mask('pw pass"phrase, json "pass\\"phrase", hunter22 at example.test')).toBe(
      'pw ***, json "***", *** at example.test'
    )
    // Inside a JSON string that is itself inside JSON (the history output in --json).
    const nested = JSON.stringify({ history: JSON.stringify([{ note: 'pass"phrase' }]) })
    expect(mask(nested)).not.toContain('phrase')
    expect(mask(JSON.stringify({ key: KEY }))).toBe('{"key":"***\\n"}')
  })

  test('empty values hide nothing', () => {
    expect(maskOf(secretsOf([{ key: '', passphrase: '  ' }]))('a b')).toBe('a b')
  })
})
