// The Deployments REST calls, through @actions/github's Octokit, at the API the run names
// (GITHUB_API_URL: github.com or a GitHub Enterprise Server).

import { getOctokit } from '@actions/github'
import type { DeploymentsOptions } from '../config/options.js'
import { ApiError, type DeploymentsApi } from './deployments.js'

const TIMEOUT_MS = 15_000

/** Undefined when a call could not be made at all: no token, or no repository. */
export function deploymentsApi(d: DeploymentsOptions): DeploymentsApi | undefined {
  const [owner, repo] = d.repository.split('/')
  if (!d.token || !owner || !repo) return undefined
  const octokit = getOctokit(d.token, { baseUrl: d.apiUrl })
  const request = () => ({ signal: AbortSignal.timeout(TIMEOUT_MS) })
  const failed = (e: unknown): never => {
    const status = (e as { status?: unknown }).status
    if (typeof status === 'number' && status > 0) {
      const message = (e as { response?: { data?: { message?: unknown } } }).response?.data?.message
      throw new ApiError(status, typeof message === 'string' ? message : (e as Error).message)
    }
    throw e
  }
  return {
    async createDeployment(x) {
      const res = await octokit.rest.repos
        .createDeployment({
          owner,
          repo,
          ref: x.ref,
          environment: x.environment,
          description: x.description,
          payload: x.payload,
          auto_merge: false,
          required_contexts: [],
          production_environment: x.productionEnvironment,
          request: request()
        })
        .catch(failed)
      const id = (res.data as { id?: unknown }).id
      if (typeof id !== 'number') {
        throw new ApiError(res.status, 'the deployment was not created (no id in the answer)')
      }
      return id
    },
    async createStatus(id, s) {
      await octokit.rest.repos
        .createDeploymentStatus({
          owner,
          repo,
          deployment_id: id,
          state: s.state,
          description: s.description,
          ...(s.logUrl ? { log_url: s.logUrl } : {}),
          ...(s.environmentUrl ? { environment_url: s.environmentUrl } : {}),
          request: request()
        })
        .catch(failed)
    }
  }
}
