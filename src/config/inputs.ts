// The action's inputs exactly as action.yml names them (kebab-case), as plain strings.

export const INPUT_NAMES = [
  'command',
  'method',
  'version',
  'project',
  'services',
  'compose-file',
  'build-args',
  'host',
  'port',
  'username',
  'key',
  'passphrase',
  'fingerprint',
  'insecure-skip-host-key-check',
  'timeout',
  'deploy-path',
  'healthchecks',
  'healthcheck-timeout',
  'healthcheck-interval',
  'skip-healthcheck',
  'no-rollback',
  'keep-versions',
  'keep-history',
  'lock-timeout',
  'lock-stale-after'
] as const

export type InputName = (typeof INPUT_NAMES)[number]
export type RawInputs = Record<InputName, string>

/** Facts of the run that are not inputs: where the code is and which commit it is. */
export interface RunContext {
  workspace: string
  /** Full commit SHA of the code being deployed. */
  sha: string
  /** `owner/name`, when known. */
  repository?: string
  runUrl?: string
  actor?: string
  now: Date
}
