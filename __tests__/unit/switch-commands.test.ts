import { shJoin } from '../../src/remote/quote.js'
import type { ComposeTarget } from '../../src/remote/commands.js'
import * as sw from '../../src/remote/switch-commands.js'
import { driftedServices } from '../../src/plan/config-hashes.js'

const target: ComposeTarget = {
  flavor: 'v2',
  project: 'shop',
  file: '/opt/shop/.deploy/releases/v2/docker-compose.yml',
  projectDirectory: '/opt/shop',
  version: 'v2'
}
const V2 = `env DEPLOY_VERSION=v2 docker compose --project-name shop --file /opt/shop/.deploy/releases/v2/docker-compose.yml --project-directory /opt/shop`
const V1 = V2.replace('docker compose', 'docker-compose')

describe('the switch that keeps unchanged services, as the server receives it', () => {
  test.each<[string, sw.SwitchSplit, ComposeTarget['flavor'], string[]]>([
    [
      'nothing to keep (a first deploy, or all changed): the plain up',
      { unchanged: [], changed: ['web', 'api'] },
      'v2',
      [`${V2} up -d --no-build --remove-orphans`]
    ],
    [
      'one changed: only it is brought up, then the rest kept, orphans removed',
      { unchanged: ['web', 'worker'], changed: ['api'] },
      'v2',
      [
        `${V2} up -d --no-build --no-deps api`,
        `${V2} up -d --no-build --no-recreate --remove-orphans`
      ]
    ],
    [
      'the same with docker-compose v1',
      { unchanged: ['web'], changed: ['api', 'worker'] },
      'v1',
      [
        `${V1} up -d --no-build --no-deps api worker`,
        `${V1} up -d --no-build --no-recreate --remove-orphans`
      ]
    ],
    [
      'nothing changed: nothing recreated',
      { unchanged: ['web', 'api'], changed: [] },
      'v2',
      [`${V2} up -d --no-build --no-recreate --remove-orphans`]
    ]
  ])('%s', (_name, split, flavor, expected) => {
    expect(sw.composeSwitch({ ...target, flavor }, split).map(a => shJoin(a))).toEqual(expected)
  })

  test('the config hashes compose computes now, and the ones the containers carry', () => {
    expect(shJoin(sw.composeConfigHashes(target, ['web', 'worker']))).toBe(
      `${V2} config --hash=web,worker`
    )
    expect(shJoin(sw.containerConfigHashes('shop'))).toBe(
      `docker ps -a --filter label=com.docker.compose.project=shop --filter label=com.docker.compose.oneoff=False --format '{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.config-hash"}}'`
    )
  })
})

describe('driftedServices', () => {
  const computed = 'web aaa\nworker bbb\n'
  test.each<[string, string, string[]]>([
    ['every container on the hash compose computes now', 'web aaa\nworker bbb\nworker bbb\n', []],
    ['a replica created from another hash', 'web aaa\nworker bbb\nworker old\n', ['worker']],
    ['a service without a container', 'web aaa\n', ['worker']],
    ['a service compose printed no hash for', 'web aaa\nworker bbb\ndb ccc\n', []]
  ])('%s', (_name, labels, drifted) => {
    expect(driftedServices(['web', 'worker'], computed, labels)).toEqual(drifted)
  })

  test('no output from compose (v2.23.0 printed none for --hash=*): all drifted', () => {
    expect(driftedServices(['web', 'worker'], '', 'web aaa\nworker bbb\n')).toEqual([
      'web',
      'worker'
    ])
  })
})
