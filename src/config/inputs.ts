// The action's inputs exactly as action.yml names them (kebab-case), as plain strings.

export const INPUT_NAMES = [
  'command',
  'method',
  'orchestrator',
  'compression',
  'version',
  'project',
  'services',
  'compose-file',
  'files',
  'release-command',
  'rollback-command',
  'release-timeout',
  'build-args',
  'builder',
  'build-secrets',
  'build-network',
  'cache-from',
  'cache-to',
  'skip-build',
  'registry',
  'registry-username',
  'registry-password',
  'host',
  'port',
  'max-parallel',
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
  'healthcheck-monitor',
  'ingress',
  'ingress-image',
  'ingress-http-port',
  'ingress-https-port',
  'drain-timeout',
  'skip-healthcheck',
  'no-rollback',
  'force-unlock',
  'keep-versions',
  'keep-history',
  'lock-timeout',
  'lock-stale-after',
  'known-hosts',
  'proxy-host',
  'proxy-port',
  'proxy-username',
  'proxy-key',
  'proxy-passphrase',
  'proxy-fingerprint',
  'environment',
  'environment-url',
  'github-token'
] as const

export type InputName = (typeof INPUT_NAMES)[number]
export type RawInputs = Record<InputName, string>

/**
 * Inputs whose values must be masked in every log line (core.setSecret) before anything runs.
 * Host names, fingerprints and known-hosts are public facts and stay readable.
 */
export const SECRET_INPUTS = [
  'key',
  'passphrase',
  'proxy-key',
  'proxy-passphrase',
  'registry-password',
  'build-secrets',
  'github-token'
] as const satisfies readonly InputName[]

/** Facts of the run that are not inputs: where the code is and which commit it is. */
export interface RunContext {
  workspace: string
  /** Full commit SHA of the code being deployed. */
  sha: string
  /** `owner/name`, when known. */
  repository?: string
  /** The GitHub REST API (GITHUB_API_URL: GitHub Enterprise Server has its own). */
  apiUrl?: string
  runUrl?: string
  actor?: string
  now: Date
  /** SOURCE_DATE_EPOCH: the job's, or the commit's time (seconds); unknown outside a clone. */
  sourceDateEpoch?: number
}
