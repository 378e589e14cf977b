// A version name is an identity (issue 30, point 2): which versions a deploy may not reuse, the
// image comparison, and the check on a server (with a fake server and a fake runner engine).

import type Docker from 'dockerode'
import { clashRefusal, sameImages, versionClash } from '../../src/plan/version-clash.js'
import { checkVersionName } from '../../src/engine/steps/version-name.js'
import type { Built, ServerRun } from '../../src/engine/steps/deploy-steps.js'
import type { ServerSession } from '../../src/engine/server/session.js'
import { parseOptions } from '../../src/config/parse.js'
import { Phases, type Log } from '../../src/engine/io.js'
import { shJoin } from '../../src/remote/quote.js'
import type { DeployRecord } from '../../src/plan/history.js'
import { raw } from './raw-inputs.js'
import { fakeRemote } from './fake-remote.js'

const rec = (version: string, status: DeployRecord['status'], images?: Record<string, string>) =>
  ({
    version,
    status,
    method: 'tar',
    commit: 'abc',
    previous: '',
    started_at: `s-${version}`,
    finished_at: `f-${version}`,
    services: ['api'],
    ...(images ? { images } : {})
  }) as DeployRecord

describe('which version names clash', () => {
  const history = [
    rec('v1', 'success'),
    rec('v2', 'failed'),
    rec('v3', 'rollback'),
    rec('v4', 'success')
  ]
  test.each([
    ['v4', { kind: 'in-service' }],
    ['v1', { kind: 'succeeded', at: 'f-v1' }],
    ['v3', { kind: 'succeeded', at: 'f-v3' }],
    ['v2', undefined],
    ['v9', undefined]
  ])('%s', (version, clash) => {
    expect(versionClash(version, 'v4', history)).toEqual(clash)
  })

  test('the same images: every service, the same ID; anything unknown or missing is not the same', () => {
    expect(
      sameImages({ api: 'sha256:a', web: 'sha256:b' }, { api: 'sha256:a', web: 'sha256:b' })
    ).toBe(true)
    expect(
      sameImages({ api: 'sha256:a', web: 'sha256:b' }, { api: 'sha256:a', web: 'sha256:c' })
    ).toBe(false)
    expect(sameImages({ api: 'sha256:a' }, { api: undefined })).toBe(false)
    expect(sameImages({ api: undefined }, { api: undefined })).toBe(false)
    expect(sameImages({}, {})).toBe(false)
    expect(sameImages({ api: 'sha256:a' }, { api: 'sha256:a', web: 'sha256:b' })).toBe(false)
  })

  test('the refusal names the version, where, what would be lost and what to do', () => {
    expect(clashRefusal('rel-1', { kind: 'in-service' }, ' on b')).toBe(
      "rel-1 is the version in service on b, with other images than this run's: deploying it again under the same name would move its tags to the new images and leave no way back to it. Nothing was changed on the server. Deploy under a new version name (leave version empty for <sha7>-<time>), or roll back to rel-1 by name (command: rollback)."
    )
  })
})

/** The compose file the server stored for rel-1. */
const STORED = 'services:\n  api:\n    image: shop-api:${DEPLOY_VERSION}\n'

describe('the check on a server', () => {
  const quiet: Log = { info: () => undefined, warn: () => undefined, group: (_n, fn) => fn() }
  const o = {
    ...parseOptions(raw({ project: 'shop', 'deploy-path': '/srv/shop' }), {
      workspace: '/w',
      sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
      now: new Date()
    }),
    version: 'rel-1'
  }
  /** The runner's engine: `shop-api:rel-1` has the image ID `built`. */
  const runner = (built: string) =>
    ({
      getImage: () => ({ inspect: () => Promise.resolve({ Id: built }) })
    }) as unknown as Docker
  /** A server whose api container runs `running`; every other command answers nothing. */
  function runOn(running: string, history: DeployRecord[], current: string): ServerRun {
    const remote = fakeRemote(argv => {
      const line = shJoin(argv)
      if (line.includes('docker ps')) return { code: 0, stdout: 'c1\n', stderr: '' }
      if (line.startsWith('cat -- ')) return { code: 0, stdout: STORED, stderr: '' }
      if (line.includes('docker inspect')) {
        const c = {
          Id: 'c1',
          Name: '/shop-api-1',
          Image: running,
          State: { Status: 'running', ExitCode: 0, StartedAt: 't' },
          RestartCount: 0,
          Config: { Image: 'shop-api:rel-1', Labels: { 'com.docker.compose.service': 'api' } },
          NetworkSettings: { Networks: {} }
        }
        return { code: 0, stdout: JSON.stringify([c]), stderr: '' }
      }
      return { code: 0, stdout: '', stderr: '' }
    })
    const s = {
      name: 'b',
      o,
      log: quiet,
      phases: new Phases(quiet),
      remote,
      state: { currentVersion: current, currentMethod: 'tar', history, damagedLines: [] },
      flavor: 'v2',
      lockLost: () => undefined,
      reconnectIfLost: () => Promise.resolve()
    } as ServerSession
    return {
      s,
      previous: current,
      history,
      attempt: {
        release: { version: 'rel-1', services: ['api'] },
        previous: current,
        facts: { method: 'tar', commit: 'abc', startedAt: 't' },
        now: () => new Date()
      },
      switched: false
    }
  }
  const built = {
    o,
    release: { version: 'rel-1', services: ['api'] },
    composeContent: STORED
  } as unknown as Built

  test('the version in service, other images: refused on the input version', async () => {
    const r = runOn('sha256:good', [rec('rel-1', 'success')], 'rel-1')
    await expect(checkVersionName(r, built, runner('sha256:broken'), '')).rejects.toThrow(
      /^Input "version": rel-1 is the version in service, with other images/
    )
  })

  test('the version in service, the same images as its containers run: a redeploy', async () => {
    const r = runOn('sha256:good', [rec('rel-1', 'success')], 'rel-1')
    expect(await checkVersionName(r, built, runner('sha256:good'), '')).toEqual({
      kind: 'in-service'
    })
  })

  test("the same images under another compose file: refused, that version's way back would change", async () => {
    const r = runOn('sha256:good', [rec('rel-1', 'success')], 'rel-1')
    const other = { ...built, composeContent: `${STORED}    environment: [A=1]\n` } as Built
    await expect(checkVersionName(r, other, runner('sha256:good'), '')).rejects.toThrow(
      /^Input "version": rel-1 is the version in service, with other compose file than this run's: deploying it again under the same name would replace the compose file it is restored with/
    )
  })

  test('a version only recorded as failed may be deployed again', async () => {
    const r = runOn('sha256:v0', [rec('v0', 'success'), rec('rel-1', 'failed')], 'v0')
    expect(await checkVersionName(r, built, runner('sha256:other'), '')).toBeUndefined()
  })

  test('registry: compared by the digests pushed and recorded', async () => {
    const pushed = { api: 'reg/shop-api@sha256:d1' }
    const history = [rec('rel-1', 'success', pushed)]
    const r = runOn('sha256:x', history, 'rel-1')
    const same = { ...built, release: { ...built.release, images: pushed } } as Built
    expect(await checkVersionName(r, same, runner('sha256:y'), '')).toEqual({ kind: 'in-service' })
    const other = {
      ...built,
      release: { ...built.release, images: { api: 'reg/shop-api@sha256:d2' } }
    } as Built
    await expect(checkVersionName(r, other, runner('sha256:y'), '')).rejects.toThrow(/in service/)
  })
})
