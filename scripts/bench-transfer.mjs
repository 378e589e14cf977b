// Benchmark: the action's image transfer against the plain pipeline
// `docker save | gzip -1 | ssh server docker load`, in the same run, on the sandbox.
// Reports time ratios and the action's peak memory at two image sizes, to show that memory
// does not grow with the image. Usage: node scripts/bench-transfer.mjs [MiB...] (default 64 256)
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { REPO_ROOT, runAction } from './run-action.mjs'
import { readSandboxEnv } from './sandbox-env.mjs'

const env = readSandboxEnv()
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter(n => n > 0)
if (sizes.length === 0) sizes.push(64, 256)
const PROJECT = 'vbench'

/** @param {string} host @param {string[]} args */
const docker = (host, args) =>
  execFileSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' },
    encoding: 'utf8',
    maxBuffer: 1 << 26
  })
const sshCmd = `ssh -i ${env.sshKey} -p ${env.sshPort} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${env.knownHosts} ${env.sshUser}@${env.sshHost}`

/** Removes the bench images from the server so that every transfer starts from nothing. */
function cleanServer() {
  const refs = docker(env.serverDockerHost, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .split('\n')
    .filter(r => r.startsWith(`${PROJECT}-`))
  if (refs.length > 0) docker(env.serverDockerHost, ['image', 'rm', '-f', ...refs])
  rmSync(`${env.dir}/deploy/${PROJECT}`, { recursive: true, force: true })
}

/**
 * A workspace with one service whose image carries `mib` MiB of random (incompressible) data.
 * @param {number} mib
 */
function workspace(mib) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-bench-'))
  cpSync(path.join(REPO_ROOT, 'examples', 'stack'), path.join(dir, 'stack'), { recursive: true })
  const blob = Buffer.alloc(mib * 1048576)
  randomFillSync(blob)
  writeFileSync(path.join(dir, 'stack', 'blob'), blob)
  const dockerfile = readFileSync(path.join(dir, 'stack', 'api.Dockerfile'), 'utf8')
  writeFileSync(
    path.join(dir, 'stack', 'bench.Dockerfile'),
    dockerfile.replace('FROM scratch', 'FROM scratch\nCOPY blob /blob')
  )
  writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `services:\n  api:\n    image: ${PROJECT}-api:\${DEPLOY_VERSION:-latest}\n    network_mode: host\n    environment:\n      PORT: "18391"\n`
  )
  return dir
}

/** @param {number} mib */
async function benchOnce(mib) {
  const ws = workspace(mib)
  const version = `b${mib}-${Date.now()}`
  const image = `${PROJECT}-api:${version}`
  docker(env.runnerDockerHost, [
    'build',
    '-q',
    '-f',
    path.join(ws, 'stack', 'bench.Dockerfile'),
    '-t',
    image,
    path.join(ws, 'stack')
  ])

  cleanServer()
  const t0 = process.hrtime.bigint()
  const plain = spawnSync(
    'bash',
    ['-o', 'pipefail', '-c', `docker save ${image} | gzip -1 | ${sshCmd} docker load`],
    {
      env: { ...process.env, DOCKER_HOST: env.runnerDockerHost },
      encoding: 'utf8'
    }
  )
  const plainSeconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (plain.status !== 0) throw new Error(`plain pipeline failed: ${plain.stderr}`)

  cleanServer()
  const inputs = {
    project: PROJECT,
    version,
    services: 'api=stack:bench.Dockerfile',
    host: env.sshHost,
    port: String(env.sshPort),
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8'),
    fingerprint: env.fingerprint,
    'deploy-path': `${env.dir}/deploy/${PROJECT}`,
    'skip-healthcheck': 'true'
  }
  const run = await runAction(
    inputs,
    { GITHUB_WORKSPACE: ws },
    { wrapper: ['/usr/bin/time', '-f', 'peak-rss-kib=%M'], timeoutMs: 30 * 60_000 }
  )
  if (run.code !== 0) throw new Error(`action failed:\n${run.log}`)
  const transfer = /\| transfer \| ([\d.]+) s \|/.exec(run.summary)
  const rss = /peak-rss-kib=(\d+)/.exec(run.log)
  const sent = /sent 1 image\(s\), ([\d.]+) MiB compressed/.exec(run.log)

  // Leave nothing behind: the stack, the images on both engines, the workspace.
  spawnSync(
    'docker-compose',
    [
      '-p',
      PROJECT,
      '-f',
      `${env.dir}/deploy/${PROJECT}/.deploy/releases/${version}/docker-compose.yml`,
      'down'
    ],
    {
      env: { ...process.env, DOCKER_HOST: env.serverDockerHost }
    }
  )
  cleanServer()
  docker(env.runnerDockerHost, ['image', 'rm', '-f', image])
  rmSync(ws, { recursive: true, force: true })
  return {
    mib,
    sentMiB: Number(sent?.[1]),
    plainSeconds,
    actionSeconds: Number(transfer?.[1]),
    actionPeakRssMiB: Number(rss?.[1]) / 1024
  }
}

const rows = []
for (const mib of sizes) rows.push(await benchOnce(mib))
console.log(
  '\nimage MiB | sent MiB | plain pipeline s | action transfer s | ratio (action/plain) | action peak RSS MiB'
)
for (const r of rows) {
  console.log(
    `${r.mib} | ${r.sentMiB.toFixed(1)} | ${r.plainSeconds.toFixed(2)} | ${r.actionSeconds.toFixed(2)} | ${(r.actionSeconds / r.plainSeconds).toFixed(2)} | ${r.actionPeakRssMiB.toFixed(0)}`
  )
}
