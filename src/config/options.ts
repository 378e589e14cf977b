// The typed options the engine runs on. Both edges (the action, tests) produce these;
// the engine never reads the environment itself.

import type { KnownHost } from '../remote/known-hosts.js'

export type Command = 'deploy'
export type Method = 'tar'

export interface ServiceSpec {
  name: string
  /** Absolute path of the build context on the runner. */
  context: string
  /** Dockerfile path relative to the context. */
  dockerfile: string
}

export type HealthCheck =
  | { kind: 'http'; url: string; line: string }
  | { kind: 'tcp'; host: string; port: number; line: string }
  | { kind: 'cmd'; command: string; line: string }

/** One SSH server to log in to: the deploy target, or the jump host in front of it. */
export interface SshEndpoint {
  host: string
  port: number
  username: string
  privateKey: string
  passphrase?: string
  /**
   * Accepted host key fingerprints, OpenSSH form `SHA256:<base64>`. May be empty when
   * known-hosts lists this host, or when the check is skipped (insecure).
   */
  fingerprints: string[]
}

export interface SshOptions extends SshEndpoint {
  /**
   * Parsed `known-hosts` lines, shared by the target and the jump host: a host key is accepted
   * when a line lists it for that host and port, or it has one of the endpoint's fingerprints.
   * Optional so that callers that pin by fingerprint alone need not mention it.
   */
  knownHosts?: KnownHost[]
  insecureSkipHostKeyCheck: boolean
  /** Handshake timeout (each hop); keepalives use a fraction of it. */
  timeoutMs: number
  /** Jump host (like ssh -J): the target is reached through a forwarded channel from it. */
  proxy?: SshEndpoint
}

export interface DeployOptions {
  command: Command
  method: Method
  version: string
  project: string
  services: ServiceSpec[]
  /** Absolute path of the compose file on the runner. */
  composeFile: string
  buildArgs: Record<string, string>
  ssh: SshOptions
  deployPath: string
  healthchecks: HealthCheck[]
  healthTimeoutMs: number
  healthIntervalMs: number
  skipHealthcheck: boolean
  noRollback: boolean
  keepVersions: number
  keepHistory: number
  /** How long to wait for another deploy's lock, and when a lock counts as abandoned. */
  lockTimeoutMs: number
  lockStaleAfterMs: number
  /** Facts about the run, written into the history. */
  commit: string
  runUrl?: string
  actor?: string
}

/** A bad input: names the input and says what is allowed. Raised before anything is touched. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string
  ) {
    super(`Input "${input}": ${message}`)
    this.name = 'InputError'
  }
}
