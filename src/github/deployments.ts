// GitHub Deployments for every deploy and rollback (input `environment`), so the repository's
// Environments page shows what really runs. Decides what to post and when; the API calls
// themselves are a port (api.ts). Never changes the outcome of a command: the first failed call
// is one warning naming its cause, and nothing more is posted.

import { targetsOf } from '../engine/fleet/targets.js'
import type { DeployOptions, DeploymentsOptions } from '../config/options.js'
import type { CommandResult } from '../engine/commands/result.js'
import type { DeployRecord } from '../plan/history.js'

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error'

export interface NewDeployment {
  /** The commit deployed. */
  ref: string
  environment: string
  description: string
  payload: { version: string; method: string; rollback?: boolean; hosts?: string[] }
  productionEnvironment: boolean
}

export interface NewStatus {
  state: DeploymentState
  description: string
  logUrl?: string
  environmentUrl?: string
}

/** The two REST calls this needs; throws an ApiError (or any error: the network). */
export interface DeploymentsApi {
  createDeployment(d: NewDeployment): Promise<number>
  createStatus(id: number, s: NewStatus): Promise<void>
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const isProduction = (environment: string) => /^(production|prod)$/i.test(environment)

/** GitHub truncates nothing for us: a description longer than 140 characters is refused. */
const short = (text: string) => (text.length > 140 ? `${text.slice(0, 139)}…` : text)

/** Why a call failed, with what to change. */
export function explain(e: unknown, d: DeploymentsOptions): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return `GitHub refused the github-token (401 ${e.message})`
    if (e.status === 403) {
      return `GitHub refused (403 ${e.message}): the workflow needs "permissions: deployments: write"`
    }
    if (e.status === 404) {
      return `GitHub does not show ${d.repository} to this token (404 ${e.message}): check github-token and "permissions: deployments: write"`
    }
    return `GitHub answered ${e.status}: ${e.message}`
  }
  return `could not reach ${d.apiUrl} (${e instanceof Error ? e.message : String(e)})`
}

export class DeploymentReporter {
  private failed = false
  private deployment?: number

  constructor(
    private readonly d: DeploymentsOptions,
    private readonly api: DeploymentsApi | undefined,
    private readonly run: { commit: string; runUrl?: string; method: string },
    private readonly warn: (message: string) => void
  ) {
    if (!api) {
      const why = !d.token
        ? 'github-token is empty (pass github-token: ${{ github.token }} with "permissions: deployments: write")'
        : 'the repository is unknown (GITHUB_REPOSITORY is not set)'
      this.stop(why)
    }
  }

  /** Before a deploy: its deployment, in progress. Other commands post once they know their target. */
  async started(o: DeployOptions): Promise<void> {
    if (o.command !== 'deploy' || !o.commit) return
    const servers = targetsOf(o).map(t => t.name)
    const on = servers.length > 1 ? ` to ${servers.length} servers: ${servers.join(', ')}` : ''
    this.deployment = await this.create(
      o.commit,
      `${o.version || 'the newest version built'}${on}`,
      {
        version: o.version,
        method: o.method,
        ...(servers.length > 1 ? { hosts: servers } : {})
      }
    )
    if (this.deployment !== undefined) {
      await this.status(
        this.deployment,
        'in_progress',
        `deploying ${o.version || '(skip-build)'}${on}`
      )
    }
  }

  /** The deploy's own deployment, while it is in progress (for the post step of a cancelled job). */
  get inProgress(): number | undefined {
    return this.deployment
  }

  /** The post step of a cancelled job: the deployment left in progress fails. */
  async interrupted(id: number): Promise<void> {
    await this.status(id, 'failure', 'the run was cancelled before this version was verified')
  }

  /** After the command: the outcome, and what serves now when a rollback happened. */
  async finished(result: CommandResult): Promise<void> {
    if (result.command === 'deploy') {
      if (this.deployment === undefined) return
      if (result.status === 'success') {
        const on = result.hosts ? ` on ${result.hosts.map(h => h.host).join(', ')}` : ''
        await this.status(this.deployment, 'success', `${result.version} is live${on}`)
        return
      }
      await this.status(this.deployment, 'failure', `${result.version || 'the deploy'} failed`)
      // The ↩ record this run wrote: the version that serves again, with its own commit.
      const back = result.history.find(
        r => r.status === 'rollback' && r.previous === result.version
      )
      if (result.status === 'rolled-back' && back) {
        await this.restored(back, `rollback to ${back.version} after ${result.version} failed`)
      }
      return
    }
    if (result.command !== 'rollback' || !result.version) return
    // The newest record of the target: ↩ when it serves, ✖ when it did not come up (what ran
    // before serves again, and its deployment stays the active one).
    const target = result.history.find(r => r.version === result.version)
    if (!target) return
    if (result.status === 'success' && target.status === 'rollback') {
      await this.restored(target, `rollback to ${target.version} from ${result.previousVersion}`)
      return
    }
    const id = await this.create(target.commit, `rollback to ${target.version}`, {
      version: target.version,
      method: target.method,
      rollback: true
    })
    if (id !== undefined) await this.status(id, 'failure', `rollback to ${target.version} failed`)
  }

  /** A deployment of the version that serves again (its own commit), marked success. */
  private async restored(record: DeployRecord, description: string): Promise<void> {
    const id = await this.create(record.commit, description, {
      version: record.version,
      method: record.method,
      rollback: true
    })
    if (id !== undefined) await this.status(id, 'success', description)
  }

  private async create(
    ref: string,
    description: string,
    payload: NewDeployment['payload']
  ): Promise<number | undefined> {
    return this.call(api =>
      api.createDeployment({
        ref,
        environment: this.d.environment,
        description: short(description),
        payload,
        productionEnvironment: isProduction(this.d.environment)
      })
    )
  }

  private async status(id: number, state: DeploymentState, description: string): Promise<void> {
    await this.call(api =>
      api.createStatus(id, {
        state,
        description: short(description),
        ...(this.run.runUrl ? { logUrl: this.run.runUrl } : {}),
        ...(this.d.environmentUrl ? { environmentUrl: this.d.environmentUrl } : {})
      })
    )
  }

  private async call<T>(fn: (api: DeploymentsApi) => Promise<T>): Promise<T | undefined> {
    if (this.failed || !this.api) return undefined
    try {
      return await fn(this.api)
    } catch (e) {
      this.stop(explain(e, this.d))
      return undefined
    }
  }

  private stop(why: string): void {
    this.failed = true
    this.warn(
      `GitHub Deployments: ${why}. The ${this.d.environment} environment does not show this run; the deploy itself is not affected.`
    )
  }
}
