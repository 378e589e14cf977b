// The typed options the engine runs on. Both edges (the action, tests) produce these;
// the engine never reads the environment itself.

import type { KnownHost } from '../remote/known-hosts.js'
import type { OneOffCommand } from '../plan/release-command.js'
import type { ComposeBuildSecret } from '../plan/compose-build.js'

export const COMMANDS = ['deploy', 'rollback', 'status', 'history', 'unlock'] as const
export type Command = (typeof COMMANDS)[number]
export const METHODS = ['tar', 'registry', 'local'] as const
export type Method = (typeof METHODS)[number]
export const ORCHESTRATORS = ['compose', 'swarm'] as const
/** What runs the stack on the server: compose on one host, or a Docker Swarm through a manager. */
export type Orchestrator = (typeof ORCHESTRATORS)[number]
/** How method tar packs the archive: gzip (level 1), or none for fast links (see transfer.ts). */
export const COMPRESSIONS = ['gzip', 'none'] as const
export type Compression = (typeof COMPRESSIONS)[number]

/** Where `method: registry` pushes images, and how to log in there. */
export interface RegistryOptions {
  /** `host[:port][/path]`, e.g. `ghcr.io/acme`: images are `<url>/<project>-<service>`. */
  url: string
  /** `host[:port]`: what `docker login` takes. */
  host: string
  /** Both or neither: without them, push and pull are anonymous. */
  username?: string
  password?: string
}

export interface ServiceSpec {
  name: string
  /** Absolute path of the build context on the runner. */
  context: string
  /** Dockerfile path relative to the context. */
  dockerfile: string
  /** The Dockerfile stage to build (`@target`); absent: the last stage. */
  target?: string
  /** What the compose file's `build:` section adds, for a service read from it. */
  compose?: ComposeBuildExtras
}

/** A compose `build:` section's args, secrets, cache lines and network. */
export interface ComposeBuildExtras {
  args: Record<string, string>
  secrets: ComposeBuildSecret[]
  cacheFrom: string[]
  cacheTo: string[]
  network?: string
}

export const BUILD_NETWORKS = ['default', 'host', 'none'] as const
/** The network of the build's RUN steps (`docker buildx build --network`). */
export type BuildNetwork = (typeof BUILD_NETWORKS)[number]

/** A `build-secrets` line: mounted in RUN steps as `--mount=type=secret,id=<id>`. */
export interface BuildSecret {
  id: string
  /** Masked before anything runs; reaches buildx only through the variable `env`. */
  value: string
  /** The environment variable of the buildx process that carries the value. */
  env: string
}

/** A `cache-from` or `cache-to` line in buildx's syntax: `type=…,key=value,…`. */
export interface CacheEntry {
  type: string
  /** The line's other `key=value` fields, in their order. */
  attrs: [string, string][]
}

/** How images are built with BuildKit (`docker buildx`); the legacy builder takes none of it. */
export interface BuildOptions {
  /** The buildx builder; absent: buildx's current one. */
  builder?: string
  secrets: BuildSecret[]
  network: BuildNetwork
  cacheFrom: CacheEntry[]
  cacheTo: CacheEntry[]
  /**
   * SOURCE_DATE_EPOCH (the commit's time): what reproducible layers are stamped with (BuildKit
   * 0.13+ rewrites their timestamps; the legacy builder's context carries it as every file's time).
   */
  sourceDateEpoch?: number
}

export type HealthCheck =
  | { kind: 'http'; url: string; line: string }
  | { kind: 'tcp'; host: string; port: number; line: string }
  | { kind: 'cmd'; command: string; line: string }

export const INGRESSES = ['none', 'caddy'] as const
export type IngressKind = (typeof INGRESSES)[number]

/**
 * `ingress: caddy`: one Caddy container per server, shared by every project deployed there,
 * routing host names to the services that carry `versioned-deploy.ingress.*` labels.
 */
export interface IngressOptions {
  image: string
  httpPort: number
  /** 0: plain HTTP only, no certificates. */
  httpsPort: number
}

/** One server of the deploy (a line of `host`): where it listens and its host key pins. */
export interface ServerAddress {
  host: string
  port: number
  /** Accepted host key fingerprints for this server (may be empty: see SshEndpoint). */
  fingerprints: string[]
}

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

/** GitHub Deployments to record each deploy and rollback in (input `environment`). */
export interface DeploymentsOptions {
  environment: string
  environmentUrl?: string
  /** May be empty: the run then warns once and records nothing. */
  token: string
  /** `owner/name`; empty when unknown (the run then warns once). */
  repository: string
  /** The REST API's base URL. */
  apiUrl: string
}

export interface DeployOptions {
  command: Command
  method: Method
  orchestrator: Orchestrator
  /** method tar: how the archive is packed on the way to `docker load`. */
  compression: Compression
  /**
   * The version to deploy or roll back to. Empty when it is decided at run time: the newest
   * version built on the runner (skip-build), or the previous good one (rollback).
   */
  version: string
  project: string
  /**
   * The images to build; may be empty for commands other than deploy, and for a deploy whose
   * compose file has `build:` sections (read in the validate phase).
   */
  services: ServiceSpec[]
  /** Ship images already built on the runner instead of building them. */
  skipBuild: boolean
  registry?: RegistryOptions
  /** command unlock: release a lock even if its holder was seen recently. */
  forceUnlock: boolean
  /** Absolute path of the compose file on the runner. */
  composeFile: string
  /** Absolute path of the workspace: where `files` are read. */
  workspace: string
  /** Files and folders shipped with the release (workspace-relative, checked by parseFiles). */
  files: string[]
  buildArgs: Record<string, string>
  build: BuildOptions
  /** deploy: a compose service of the new version run once, before the switch (migrations). */
  releaseCommand?: OneOffCommand
  /** Run with the images of the version being left, before a rollback undoes its release. */
  rollbackCommand?: OneOffCommand
  /** How long either may run. */
  releaseTimeoutMs: number
  /** How to reach the server (the first of `servers`); absent with method local. */
  ssh?: SshOptions
  /**
   * Every server of the deploy, in the order of `host` (the first is the canary). Absent or of
   * one: a single server, `ssh`.
   */
  servers?: ServerAddress[]
  /** After the first server, how many servers switch at once; 0 or absent: all of them. */
  maxParallel?: number
  deployPath: string
  healthchecks: HealthCheck[]
  healthTimeoutMs: number
  healthIntervalMs: number
  /** How long to keep watching once every check passed (0: not at all). */
  healthMonitorMs: number
  skipHealthcheck: boolean
  /** Absent with `ingress: none`: start-first services then switch without a traffic step. */
  ingress?: IngressOptions
  /** Start-first: how long the old containers may finish their requests once the route moved. */
  drainTimeoutMs: number
  noRollback: boolean
  keepVersions: number
  keepHistory: number
  /** How long to wait for another deploy's lock, and when a lock counts as abandoned. */
  lockTimeoutMs: number
  lockStaleAfterMs: number
  /** Record deploys and rollbacks as GitHub Deployments; absent when `environment` is empty. */
  deployments?: DeploymentsOptions
  /** Facts about the run, written into the history. */
  commit: string
  runUrl?: string
  actor?: string
}

/** The names of the services the run builds (its images are `<project>-<name>`). */
export function serviceNames(o: Pick<DeployOptions, 'services'>): string[] {
  return o.services.map(s => s.name)
}
