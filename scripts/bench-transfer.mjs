// Benchmark (`npm run bench`): the action's tar transfer against the plain pipeline
// `docker save | gzip -1 | ssh server docker load`, side by side in the same run, both through
// the same rate-limited relay in front of the sshd of the sandbox's lab host 1
// (scripts/rate-relay.mjs), which counts the bytes. An image with a large incompressible base
// layer and a small application layer is shipped three ways: (a) a first deploy (also with
// `compression: none`, against the plain pipeline without gzip), (b) a redeploy after only the
// application layer changed, (c) a rollback to the previous version. Then the action's peak RSS
// while it ships a large image (no rate limit). Writes docs/BENCHMARKS.md.
//
// Usage: node scripts/bench-transfer.mjs [--rate MB/s] [--base MiB] [--app MiB] [--rss MiB]
//          [--out FILE]
//   defaults: 20 MB/s, a 120 MiB base layer, a 2 MiB application layer, a 1024 MiB image,
//   docs/BENCHMARKS.md (a quick look with small sizes: --out elsewhere)
import { execFileSync, spawn } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { writeSection } from './bench-section.mjs'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startRelay } from './rate-relay.mjs'
import { REPO_ROOT, runAction } from './run-action.mjs'
import { hostPath, readSandboxEnv } from './sandbox-env.mjs'

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    base: { type: 'string', default: '120' },
    app: { type: 'string', default: '2' },
    rss: { type: 'string', default: '1024' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'docs', 'BENCHMARKS.md') }
  }
})
const RATE = Number(values.rate) * 1e6
const BASE_MIB = Number(values.base)
const APP_MIB = Number(values.app)
const RSS_MIB = Number(values.rss)
const env = readSandboxEnv()
/** The server: lab host 1 (its own namespaces, engine and /srv), behind 127.0.0.1:env.sshPort. */
const HOST = env.hosts[0]
if (!HOST) throw new Error('the sandbox has no lab host: run scripts/sandbox.sh up')
const PROJECT = 'vbench'
/** The deploy path on the server, and where that folder is on this machine. */
const DEPLOY_PATH = `/srv/${PROJECT}`
const DEPLOY_DIR = hostPath(HOST, DEPLOY_PATH)
const MiB = 1048576

/** @param {string} host @param {string[]} args */
const docker = (host, args) =>
  execFileSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' },
    encoding: 'utf8',
    maxBuffer: 1 << 26
  })
const onServer = (/** @type {string[]} */ args) => docker(env.serverDockerHost, args)

/** Removes the project's containers, images, network and state from the server. */
function cleanServer() {
  const ids = onServer(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`])
    .split('\n')
    .filter(Boolean)
  if (ids.length > 0) onServer(['rm', '-f', ...ids])
  const refs = onServer(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .split('\n')
    .filter(r => r.startsWith(`${PROJECT}-`))
  if (refs.length > 0) onServer(['image', 'rm', '-f', ...refs])
  const networks = onServer([
    'network',
    'ls',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`
  ])
    .split('\n')
    .filter(Boolean)
  if (networks.length > 0) onServer(['network', 'rm', ...networks])
  rmSync(DEPLOY_DIR, { recursive: true, force: true })
}

/** @param {string} file @param {number} mib random, so that gzip cannot shrink it */
function randomFile(file, mib) {
  const chunk = Buffer.alloc(MiB)
  writeFileSync(file, '')
  for (let i = 0; i < mib; i++) writeFileSync(file, randomFillSync(chunk), { flag: 'a' })
}

/**
 * A workspace: busybox, a base layer of `baseMib` and an application layer rewritten per build.
 * The bottom layer (busybox and a random id) is the workspace's own: other images on the
 * server (lab host 1) hold busybox layers, and a first deploy is one with nothing to skip.
 */
function workspace(/** @type {number} */ baseMib) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vd-bench-'))
  mkdirSync(path.join(dir, 'app', 'bin'), { recursive: true })
  copyFileSync(
    path.join(REPO_ROOT, 'examples', 'stack', 'bin', 'busybox'),
    path.join(dir, 'app', 'bin', 'busybox')
  )
  writeFileSync(path.join(dir, 'app', 'bin', 'bench-id'), randomFillSync(Buffer.alloc(16)))
  randomFile(path.join(dir, 'app', 'base.bin'), baseMib)
  writeFileSync(
    path.join(dir, 'app', 'Dockerfile'),
    'FROM scratch\nCOPY bin/ /bin/\nCOPY base.bin /base.bin\nCOPY app.bin /app.bin\nCMD ["/bin/busybox", "sh", "-c", "trap \\"exit 0\\" TERM; while :; do /bin/busybox sleep 1; done"]\n'
  )
  writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `services:\n  app:\n    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}\n`
  )
  return dir
}

/** Builds `version` with a new application layer. */
function build(/** @type {string} */ ws, /** @type {string} */ version) {
  randomFile(path.join(ws, 'app', 'app.bin'), APP_MIB)
  docker(env.runnerDockerHost, [
    'build',
    '-q',
    '-t',
    `${PROJECT}-app:${version}`,
    path.join(ws, 'app')
  ])
}

/**
 * The plain pipeline through a relay at RATE: seconds and bytes sent. `pack` is the stage
 * between save and ssh (`gzip -1`, or none).
 */
async function plain(/** @type {string} */ version, pack = 'gzip -1') {
  const relay = await startRelay({ target: env.sshPort, upRate: RATE })
  try {
    const ssh = `ssh -i ${env.sshKey} -p ${relay.port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${env.sshUser}@${env.sshHost}`
    const t0 = process.hrtime.bigint()
    // Not spawnSync: the relay runs in this process.
    const child = spawn(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `docker save ${PROJECT}-app:${version} | ${pack ? `${pack} | ` : ''}${ssh} docker load`
      ],
      { env: { ...process.env, DOCKER_HOST: env.runnerDockerHost }, stdio: 'ignore' }
    )
    const code = await new Promise(resolve => child.on('close', resolve))
    if (code !== 0) throw new Error(`the plain pipeline failed (exit ${code})`)
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes: relay.upBytes() }
  } finally {
    await relay.close()
  }
}

/**
 * One step of the action through a relay at RATE (or directly, rate undefined): the seconds of
 * `phase` from its job summary, the bytes sent, the peak RSS.
 * @param {string} ws @param {Record<string, string>} overrides @param {string} phase
 * @param {number | undefined} rate
 */
async function action(ws, overrides, phase, rate = RATE) {
  const relay = await startRelay({ target: env.sshPort, upRate: rate })
  try {
    const inputs = {
      project: PROJECT,
      services: 'app=app',
      host: env.sshHost,
      port: String(relay.port),
      username: env.sshUser,
      key: readFileSync(env.sshKey, 'utf8'),
      fingerprint: env.fingerprint,
      'deploy-path': DEPLOY_PATH,
      'skip-healthcheck': 'true',
      ...overrides
    }
    const run = await runAction(
      inputs,
      { GITHUB_WORKSPACE: ws },
      { wrapper: ['/usr/bin/time', '-f', 'peak-rss-kib=%M'], timeoutMs: 30 * 60_000 }
    )
    if (run.code !== 0) throw new Error(`the action failed:\n${run.log}`)
    const seconds = new RegExp(`\\| ${phase} \\| ([\\d.]+) s \\|`).exec(run.summary)
    const rss = /peak-rss-kib=(\d+)/.exec(run.log)
    return {
      seconds: seconds ? Number(seconds[1]) : 0,
      bytes: relay.upBytes(),
      rssMiB: Number(rss?.[1]) / 1024
    }
  } finally {
    await relay.close()
  }
}

const ws = workspace(BASE_MIB)
/** @typedef {{ seconds: number, bytes: number }} Measure */
/** @type {[string, { plain: Measure, action: Measure, phase?: string }][]} */
const rows = []
try {
  cleanServer()
  build(ws, 'v1')
  // (a) A first deploy: the server has nothing of the project.
  const aPlain = await plain('v1')
  cleanServer()
  rows.push([
    'first deploy',
    { plain: aPlain, action: await action(ws, { version: 'v1' }, 'transfer') }
  ])

  // (a') The same with compression none, against the plain pipeline without gzip. It leaves
  // the server as (a) did: v1 deployed.
  const nonePlain = await plain('v1', '')
  cleanServer()
  rows.push([
    'first deploy, `compression: none`',
    {
      plain: nonePlain,
      action: await action(ws, { version: 'v1', compression: 'none' }, 'transfer')
    }
  ])

  // (b) Only the application layer changed. The plain pipeline goes first and its copy of v2
  // is removed again, so that the action finds the server as it was.
  build(ws, 'v2')
  const bPlain = await plain('v2')
  onServer(['image', 'rm', `${PROJECT}-app:v2`])
  rows.push([
    'redeploy, app layer changed',
    { plain: bPlain, action: await action(ws, { version: 'v2' }, 'transfer') }
  ])

  // (c) Back to v1: a script without backups sends v1 again; the action restores it on the server.
  const cPlain = await plain('v1')
  rows.push([
    'rollback to v1',
    {
      plain: cPlain,
      action: await action(ws, { command: 'rollback', services: '' }, 'switch'),
      phase: 'switch'
    }
  ])
} finally {
  cleanServer()
  rmSync(ws, { recursive: true, force: true })
}

// Peak memory while shipping a large image, at loopback speed.
const big = workspace(RSS_MIB)
/** @type {{ seconds: number, rssMiB: number }} */
let rss
try {
  build(big, 'big')
  rss = await action(big, { version: 'big' }, 'transfer', undefined)
} finally {
  cleanServer()
  docker(env.runnerDockerHost, ['image', 'rm', '-f', `${PROJECT}-app:big`])
  rmSync(big, { recursive: true, force: true })
}
docker(env.runnerDockerHost, ['image', 'rm', '-f', `${PROJECT}-app:v1`, `${PROJECT}-app:v2`])

const mb = (/** @type {number} */ n) => (n / MiB).toFixed(1)
const table = [
  '| scenario | plain: sent | plain: time | action: sent | action: time | bytes plain/action | time plain/action |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    ([name, r]) =>
      `| ${name} | ${mb(r.plain.bytes)} MiB | ${r.plain.seconds.toFixed(1)} s | ${mb(r.action.bytes)} MiB | ${r.action.seconds.toFixed(1)} s${r.phase === 'switch' ? ' (switch, compose up included; no transfer)' : ''} | ${(r.plain.bytes / r.action.bytes).toFixed(0)}× | ${r.phase === 'switch' ? '—' : `${(r.plain.seconds / r.action.seconds).toFixed(2)}×`} |`
  )
]
const machine = [
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  `Linux ${os.release()}`,
  `Docker ${docker(env.runnerDockerHost, ['version', '-f', '{{.Server.Version}}']).trim()}`,
  `Node.js ${process.version} (the benchmark), the action on its own Node.js (scripts/run-action.mjs)`
].join(', ')
const text = `# Transfer benchmark

Written by \`npm run bench\` (scripts/bench-transfer.mjs) on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}. Both sides are this machine: the runner's engine, and the engine of the
sandbox's lab host 1 (namespaces of its own) behind its sshd, reached through the lab's loopback
bridge (127.0.0.1:${env.sshPort}), with a relay of the project's own (scripts/rate-relay.mjs) limiting what
goes to the server to ${values.rate} MB/s and counting it. Image: a ${BASE_MIB} MiB random base
layer and a ${APP_MIB} MiB random application layer (gzip cannot shrink either).

The plain pipeline is \`docker save | gzip -1 | ssh server docker load\` (without \`gzip -1\` in
the \`compression: none\` row); its time is the whole pipeline. The action's time is its \`transfer\` phase (job summary), or for the rollback its
\`switch\` phase (images back from their backup tags, \`compose up\`); its bytes are everything the action sent to the server in that step (SSH
handshake and commands included), counted by the relay.

${table.join('\n')}

Peak RSS of the action while shipping a ${RSS_MIB} MiB image (no rate limit, first deploy):
**${rss.rssMiB.toFixed(0)} MiB** (transfer ${rss.seconds.toFixed(1)} s).
`
writeSection(values.out, '# Transfer benchmark', text)
console.log(text)
