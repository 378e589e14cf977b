// The help of the CLI and of each command: every option with its default, grouped.

import { COMMANDS, COMPRESSIONS, METHODS, ORCHESTRATORS, type Command } from '../config/options.js'
import { DEFAULTS } from '../config/values.js'
import {
  CLI_FLAGS,
  DEFAULT_CONFIG_FILE,
  ENV_PREFIX,
  MULTI_LINE,
  OPTION_NAMES,
  isSwitch,
  type OptionName
} from './options.js'

export const PROGRAM = 'versioned-deploy'

interface OptionHelp {
  /** The value's placeholder in the help. */
  value?: string
  help: string
}

/** Defaults that depend on the run, in words (the others come from DEFAULTS). */
const DEFAULT_WORDS: Partial<Record<OptionName, string>> = {
  version:
    'deploy: <sha7>-<YYYYMMDD-HHMMSS>; with --skip-build: the newest built here; rollback: the previous good version',
  project: 'the name of the working directory (of GITHUB_REPOSITORY when set)',
  services: 'none; required for deploy (rollback takes them from the history)',
  'deploy-path': '/opt/<project>',
  host: 'none; required except with method local',
  key: 'none; this or --key-file is required except with method local',
  fingerprint: 'none; this or --known-hosts is required',
  'proxy-host': 'none: connect directly',
  'proxy-key': '--key',
  'proxy-passphrase': '--passphrase'
}

const OPTION_HELP: [string, Partial<Record<OptionName, OptionHelp>>][] = [
  [
    'What to deploy',
    {
      method: { value: 'METHOD', help: `how images travel: ${METHODS.join(', ')}` },
      orchestrator: {
        value: 'NAME',
        help: `what runs the stack: ${ORCHESTRATORS.join(', ')} (swarm: a manager, method registry)`
      },
      compression: {
        value: 'C',
        help: `method tar: ${COMPRESSIONS.join(' or ')} (none for fast links)`
      },
      version: { value: 'V', help: 'the version to deploy or roll back to' },
      project: {
        value: 'NAME',
        help: 'images are <project>-<service>; also the compose project name'
      },
      services: { value: 'NAME=CONTEXT[:DOCKERFILE]', help: 'an image to build' },
      'compose-file': {
        value: 'FILE',
        help: 'the compose file, relative to the working directory'
      },
      'release-command': {
        value: "'SERVICE [ARGS]'",
        help: 'deploy: run this compose service of the new version once before the switch (migrations)'
      },
      'rollback-command': {
        value: "'SERVICE [ARGS]'",
        help: 'before a rollback away from a version whose release command ran: run this with its images'
      },
      'release-timeout': { value: 'SECONDS', help: 'the most either command may run' },
      files: { value: 'PATH', help: 'a file or folder the release needs, shipped with it' },
      'build-args': { value: 'KEY=VALUE', help: 'a build argument' },
      builder: {
        value: 'NAME',
        help: 'the buildx builder (docker buildx ls); default: the current one'
      },
      'build-secrets': {
        value: 'ID=VALUE',
        help: 'a build secret (RUN --mount=type=secret,id=ID), passed to buildx in its environment'
      },
      'build-network': { value: 'NETWORK', help: "the RUN steps' network: default, host or none" },
      'cache-from': {
        value: 'LINE',
        help: 'build cache to read, a buildx line (type=registry,ref=…)'
      },
      'cache-to': {
        value: 'LINE',
        help: 'build cache to write, a buildx line (type=local,dest=…)'
      },
      'skip-build': { help: 'ship images already built on this machine for --version' },
      'deploy-path': { value: 'PATH', help: 'directory on the server' }
    }
  ],
  [
    'Server',
    {
      host: {
        value: 'HOST[:PORT]',
        help: 'the server; repeat for several (all get the version, or none)'
      },
      'max-parallel': {
        value: 'N',
        help: 'several servers: after the first, how many switch at once'
      },
      port: { value: 'PORT', help: 'SSH port' },
      username: { value: 'USER', help: 'SSH user (needs access to Docker on the server)' },
      key: {
        value: 'TEXT',
        help: 'SSH private key text (a secret; write --key="$(cat FILE)" or use --key-file)'
      },
      'key-file': { value: 'PATH', help: 'read the SSH private key from PATH (instead of --key)' },
      passphrase: { value: 'TEXT', help: "the private key's passphrase (a secret)" },
      fingerprint: {
        value: '[HOST[:PORT]] SHA256:…',
        help: 'accepted host key (ssh-keyscan -p PORT HOST | ssh-keygen -lf -); several servers: name it'
      },
      'known-hosts': { value: 'LINE', help: 'an OpenSSH known_hosts line that pins host keys' },
      'insecure-skip-host-key-check': { help: 'connect without checking the host key (warns)' },
      timeout: { value: 'SECONDS', help: 'SSH handshake timeout' },
      'proxy-host': { value: 'HOST', help: 'jump host to go through (like ssh -J)' },
      'proxy-port': { value: 'PORT', help: "the jump host's SSH port" },
      'proxy-username': { value: 'USER', help: 'SSH user on the jump host' },
      'proxy-key': { value: 'TEXT', help: "the jump host's private key text (a secret)" },
      'proxy-passphrase': { value: 'TEXT', help: "the jump host key's passphrase" },
      'proxy-fingerprint': { value: 'SHA256:…', help: "the jump host's accepted host key" }
    }
  ],
  [
    'Registry (method registry)',
    {
      registry: { value: 'HOST[:PORT][/PATH]', help: 'where images are pushed and pulled from' },
      'registry-username': { value: 'USER', help: 'registry login; none: anonymous' },
      'registry-password': { value: 'TEXT', help: 'registry password or token (a secret)' }
    }
  ],
  [
    'Health checks',
    {
      healthchecks: {
        value: 'CHECK',
        help: 'http://…, https://…, tcp://HOST:PORT or "cmd: COMMAND", run from the server'
      },
      'healthcheck-timeout': { value: 'SECONDS', help: 'time for the stack to become healthy' },
      'healthcheck-interval': { value: 'SECONDS', help: 'time between attempts' },
      'healthcheck-monitor': {
        value: 'SECONDS',
        help: 'settle window once every check passed; 0 turns it off'
      },
      'skip-healthcheck': { help: 'deploy without checking (not recommended)' },
      'no-rollback': { help: 'leave a failed version running for inspection' }
    }
  ],
  [
    'Ingress, start-first switch',
    {
      ingress: {
        value: 'none|caddy',
        help: 'a Caddy ingress on the server routes labelled services'
      },
      'ingress-image': { value: 'IMAGE', help: 'the ingress image (default caddy:2)' },
      'ingress-http-port': { value: 'PORT', help: 'server port for HTTP (default 80)' },
      'ingress-https-port': { value: 'PORT', help: 'server port for HTTPS; 0: HTTP only' },
      'drain-timeout': {
        value: 'SECONDS',
        help: 'time the old containers get to finish their requests'
      }
    }
  ],
  [
    'History, lock',
    {
      'keep-versions': { value: 'N', help: 'versions whose images stay on the server' },
      'keep-history': { value: 'N', help: 'records kept in the history' },
      'lock-timeout': { value: 'SECONDS', help: "time to wait for another deploy's lock" },
      'lock-stale-after': { value: 'SECONDS', help: 'age after which a lock counts as abandoned' },
      'force-unlock': { help: 'unlock: release even a lock renewed in the last two minutes' }
    }
  ],
  [
    'GitHub Deployments',
    {
      environment: {
        value: 'NAME',
        help: 'record the deploy or rollback as a GitHub Deployment in this environment (needs GITHUB_REPOSITORY=owner/name)'
      },
      'environment-url': { value: 'URL', help: "the environment's URL, shown on the deployment" },
      'github-token': { value: 'TOKEN', help: 'token for the Deployments API (a secret)' }
    }
  ]
]

const COMMAND_HELP: Record<Command, { args: string; about: string; argHelp?: string }> = {
  deploy: {
    args: `[${METHODS.join('|')}]`,
    about:
      'Build the images, ship them to the server, switch and verify; a version that fails its checks is rolled back on its own.',
    argHelp: `the method (--method), default ${DEFAULTS.method}`
  },
  rollback: {
    args: '[VERSION]',
    about:
      'Go back to VERSION, or to the newest version recorded as a success before the one in service, if it can be restored.',
    argHelp: 'the version (--version), default: the previous good version'
  },
  status: {
    args: '',
    about:
      'Show the version in service, its containers and one pass of the health checks; exit 1 when the stack is not healthy.'
  },
  history: {
    args: '',
    about: 'Show the deployment history and the versions a rollback can go to.'
  },
  unlock: {
    args: '',
    about:
      'Release the deploy lock by hand (one renewed in the last two minutes only with --force-unlock).'
  }
}

const WIDTH = 100
const INDENT = 34

function defaultOf(name: OptionName): string {
  const d = (DEFAULTS as Partial<Record<string, string>>)[name]
  if (d !== undefined && d !== '') return d
  return DEFAULT_WORDS[name] ?? 'none'
}

/** Words into lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  return [...lines, line]
}

/** `  --flag VALUE   help`, the help wrapped under its column. */
function entry(flag: string, help: string): string {
  const [first = '', ...rest] = wrap(help, WIDTH - INDENT)
  const head = `  ${flag}`
  const lines =
    head.length < INDENT - 1 ? [head.padEnd(INDENT) + first] : [head, ' '.repeat(INDENT) + first]
  return [...lines, ...rest.map(l => ' '.repeat(INDENT) + l)].join('\n')
}

function optionEntry(name: OptionName, help: OptionHelp | undefined): string {
  const flag = isSwitch(name) ? `--${name}` : `--${name} ${help?.value ?? 'VALUE'}`
  const repeat = MULTI_LINE.has(name) ? ' (repeat the flag for more)' : ''
  return entry(flag, `${help?.help ?? ''}${repeat} [default: ${defaultOf(name)}]`.trim())
}

function optionSections(): string[] {
  const described = new Set<string>()
  const sections = OPTION_HELP.map(([title, options]) => {
    const names = (Object.keys(options) as OptionName[]).filter(n => OPTION_NAMES.includes(n))
    names.forEach(n => described.add(n))
    return [`${title}:`, ...names.map(n => optionEntry(n, options[n]))].join('\n')
  })
  const others = OPTION_NAMES.filter(n => !described.has(n))
  if (others.length > 0) {
    sections.push(['Other:', ...others.map(n => optionEntry(n, undefined))].join('\n'))
  }
  return sections
}

/** Every option name has its help (checked by a test). */
export function undescribedOptions(): OptionName[] {
  const described = new Set(OPTION_HELP.flatMap(([, o]) => Object.keys(o)))
  return OPTION_NAMES.filter(n => !described.has(n))
}

function cliFlagSection(): string {
  const entries = Object.entries(CLI_FLAGS).map(([name, f]) => {
    const short = 'short' in f ? `-${f.short}, ` : ''
    const value = 'value' in f ? ` ${f.value}` : ''
    return entry(`${short}--${name}${value}`, f.def ? `${f.help} [default: ${f.def}]` : f.help)
  })
  return ['This program:', ...entries].join('\n')
}

const para = (text: string) => wrap(text, WIDTH).join('\n')

const SOURCES = para(
  `Every option may also come from the environment as ${ENV_PREFIX}<NAME> (upper case, "-" as "_", e.g. ${ENV_PREFIX}DEPLOY_PATH), or from ${DEFAULT_CONFIG_FILE} in the working directory (or --config FILE), whose keys are the option names (a list or a block string for a repeatable one). Precedence: flag, environment, config file, default.`
)

const EXIT_CODES = para(
  'Exit codes: 0 success, 1 failed, 2 bad usage (nothing was sent to any server), 3 rolled back (the deploy failed and the previous version serves again).'
)

export function generalHelp(): string {
  return (
    [
      `Usage: ${PROGRAM} <command> [options]`,
      para(
        'Deploys a Docker compose stack to a server over SSH with versioned images, health checks and automatic rollback.'
      ),
      [
        'Commands:',
        ...COMMANDS.map(c => entry(`${c} ${COMMAND_HELP[c].args}`.trim(), COMMAND_HELP[c].about))
      ].join('\n'),
      `Run "${PROGRAM} <command> --help" for the options of a command.`,
      SOURCES,
      EXIT_CODES
    ].join('\n\n') + '\n'
  )
}

export function commandHelp(command: Command): string {
  const c = COMMAND_HELP[command]
  const usage = `Usage: ${PROGRAM} ${command}${c.args ? ` ${c.args}` : ''} [options]`
  return (
    [
      usage,
      para(c.about),
      ...(c.argHelp ? [['Arguments:', entry(c.args, c.argHelp)].join('\n')] : []),
      ...optionSections(),
      cliFlagSection(),
      SOURCES,
      EXIT_CODES
    ].join('\n\n') + '\n'
  )
}
