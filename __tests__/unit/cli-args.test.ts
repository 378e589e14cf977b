import { INPUT_NAMES } from '../../src/config/inputs.js'
import { parseCliArgs } from '../../src/cli/args.js'
import { commandHelp, generalHelp, undescribedOptions } from '../../src/cli/help.js'
import { OPTION_NAMES, isSwitch } from '../../src/cli/options.js'
import { UsageError } from '../../src/cli/usage-error.js'
import { COMMANDS } from '../../src/config/options.js'

const refusal = (argv: string[]) => {
  try {
    parseCliArgs(argv)
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError)
    return (e as Error).message
  }
  throw new Error(`${argv.join(' ')} was accepted`)
}

describe('parseCliArgs', () => {
  test('the command, its options, repeated multi-line flags, switches, the CLI flags', () => {
    const a = parseCliArgs([
      'deploy',
      'registry',
      '--host=example.test',
      '--services',
      'api=./api',
      '--services',
      'web=./web:Dockerfile.prod',
      '--skip-build',
      '--version',
      'v1',
      '--force',
      '--json',
      '--config',
      'ci.yml',
      '--key-file',
      'id_ed25519'
    ])
    expect(a).toEqual({
      command: 'deploy',
      flags: {
        method: 'registry',
        host: 'example.test',
        services: 'api=./api\nweb=./web:Dockerfile.prod',
        'skip-build': 'true',
        version: 'v1',
        'key-file': 'id_ed25519'
      },
      config: 'ci.yml',
      force: true,
      json: true,
      help: false
    })
  })

  test('every input but command is a long flag of the same name; switches take no value', () => {
    const names = INPUT_NAMES.filter(n => n !== 'command')
    expect(OPTION_NAMES).toEqual([...names, 'key-file'])
    for (const name of names) {
      const argv = isSwitch(name) ? [`--${name}`] : [`--${name}`, 'x']
      expect(parseCliArgs(['status', ...argv]).flags[name]).toBe(isSwitch(name) ? 'true' : 'x')
    }
    expect(OPTION_NAMES.filter(isSwitch)).toEqual([
      'skip-build',
      'insecure-skip-host-key-check',
      'skip-healthcheck',
      'no-rollback',
      'force-unlock'
    ])
  })

  test('rollback [VERSION]; deploy [METHOD]; the same value twice is fine, two different ones are not', () => {
    expect(parseCliArgs(['rollback', 'v3']).flags).toEqual({ version: 'v3' })
    expect(parseCliArgs(['rollback']).flags).toEqual({})
    expect(parseCliArgs(['deploy', 'local', '--method', 'local']).flags).toEqual({
      method: 'local'
    })
    expect(refusal(['deploy', 'tar', '--method', 'local'])).toMatch(/method is given twice/)
    expect(refusal(['rollback', 'v3', '--version', 'v2'])).toMatch(/version is given twice/)
    expect(refusal(['deploy', 'ftp'])).toBe('deploy takes a method, one of tar, registry, local')
    expect(refusal(['status', 'now'])).toBe('status takes no argument, but got 1 arguments')
    expect(refusal(['rollback', 'a', 'b'])).toBe('rollback takes one version, but got 2 arguments')
  })

  test('an unknown flag: named, the closest guessed, every valid one listed', () => {
    const message = refusal(['deploy', '--hots', 'example.test'])
    expect(message).toMatch(/^unknown option --hots \(did you mean --host\?\)\. Valid options:\n/)
    for (const name of [...OPTION_NAMES, 'config', 'force', 'json', 'help']) {
      expect(message).toContain(`--${name}`)
    }
    expect(refusal(['status', '-x'])).toMatch(/^unknown option -x\. Valid options/)
  })

  test('a value is never repeated in a refusal: it may be a key', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nsecretline\n-----END OPENSSH PRIVATE KEY-----'
    const ambiguous = refusal(['deploy', '--key', key])
    expect(ambiguous).toBe(
      '--key needs a value; one that starts with "-" (a private key does) must be written --key=VALUE, or use --key-file PATH'
    )
    expect(refusal(['deploy', key])).not.toContain('secretline')
    expect(refusal(['deploy', '--passphrase', 'x', key])).not.toContain('secretline')
    expect(parseCliArgs(['deploy', `--key=${key}`]).flags.key).toBe(key)
  })

  test('other bad usage', () => {
    expect(refusal([])).toBe('a command is required: deploy, rollback, status, history, unlock')
    expect(refusal(['depoy'])).toMatch(/^the command "depoy" is unknown \(did you mean deploy\?\)/)
    expect(refusal(['deploy', '--port', '22', '--port', '23'])).toBe(
      '--port is given 2 times; it takes one value'
    )
    // Several servers: --host repeats, one server each.
    expect(parseCliArgs(['deploy', '--host', 'a', '--host', 'b:2222']).flags.host).toBe('a\nb:2222')
    expect(refusal(['deploy', '--no-rollback=false'])).toMatch(/--no-rollback is a switch/)
    expect(refusal(['deploy', '--host'])).toBe('--host needs a value: --host VALUE')
  })

  test('--help with or without a command', () => {
    expect(parseCliArgs(['--help'])).toMatchObject({ help: true })
    expect(parseCliArgs(['--help']).command).toBeUndefined()
    expect(parseCliArgs(['rollback', '-h'])).toMatchObject({ command: 'rollback', help: true })
  })
})

describe('help', () => {
  test('every option has its help', () => {
    expect(undescribedOptions()).toEqual([])
  })

  test.each(COMMANDS)('%s --help shows every option with its default', command => {
    const help = commandHelp(command)
    expect(help).toMatch(new RegExp(`^Usage: versioned-deploy ${command}`))
    for (const name of OPTION_NAMES) {
      const entry = new RegExp(`^  --${name}\\b[^]*?\\[default: [^\\]]+\\]`, 'm')
      expect([name, entry.test(help)]).toEqual([name, true])
    }
    expect(help).toContain('--healthcheck-timeout SECONDS')
    expect(help).toMatch(/--port PORT\s+SSH port \[default: 22\]/)
    expect(help).toMatch(/--services NAME=CONTEXT\[:DOCKERFILE\]\n\s+an image to build \(repeat/)
    expect(help.replace(/\s+/g, ' ')).toContain(
      'Precedence: flag, environment, config file, default.'
    )
    expect(help).toMatch(/3 rolled back/)
    expect(help.split('\n').every(l => l.length <= 110)).toBe(true)
  })

  test('the general help lists the commands', () => {
    const help = generalHelp()
    for (const c of COMMANDS) expect(help).toMatch(new RegExp(`^  ${c}\\b`, 'm'))
  })
})
