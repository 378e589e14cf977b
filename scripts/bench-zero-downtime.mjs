// Benchmark (`npm run bench`): requests lost during a deploy through the ingress the action
// drives (`ingress: caddy`), start-first against stop-first (issue 22, point 7). The server is
// the sandbox's lab host 3 (its own namespaces, engine and /srv); the stack is the one
// __tests__/e2e/zero-downtime.test.ts deploys (scripts/load/zero-app.mjs): `web`, a busybox httpd
// serving its version at /version, a 2 s CGI at /cgi-bin/slow, and /health unless a file
// `refuse-<version>` is in /srv/vbench-host (bind-mounted): how a version is made to fail.
//
// Under a steady load through the ingress (scripts/load/ingress-load.mjs inside host 1's network
// namespace, to host 3 over the lab's LAN: 50 fast requests a second, each on a fresh connection, plus a 2 s request started
// every second), after a first deploy b1 (start-first, no load):
//   - a start-first redeploy b2;
//   - a version b3 that fails its checks after the route moved (rolled back to b2);
//   - a rollback by name to b1;
//   - the control: the same compose file with `order: stop-first`, a redeploy b4.
// Per scenario: fast requests, failed, longest gap, slow requests completed / cut, the switch and
// verify phases of the action's run (job summary). Targets (start-first): 0 failed, longest gap
// under 1 s, no slow request cut; the control must show failures. A missed target is reported
// (MISS), not fatal; a control without a failure (the benchmark cannot see downtime) exits 1.
// Writes its own section of docs/BENCHMARKS.md (replaced on each run; the rest is left as is).
//
// Usage: node scripts/bench-zero-downtime.mjs [--out FILE]
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT, runAction } from './run-action.mjs'
import { hostFetch, hostPath, readSandboxEnv } from './sandbox-env.mjs'
import { DOCKERFILE, SLOW, zeroCompose } from './load/zero-app.mjs'
import { writeSection } from './bench-section.mjs'

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(REPO_ROOT, 'docs', 'BENCHMARKS.md') }
  }
})

const env = readSandboxEnv()
/** The server: lab host 3, reached over SSH at 127.0.0.1:its port. */
const HOST = (() => {
  const host = env.hosts[2]
  if (!host) throw new Error('the sandbox has no lab host 3: run scripts/sandbox.sh up')
  return host
})()
/** Where the load comes from: lab host 1. */
const CLIENT = (() => {
  const host = env.hosts[0]
  if (!host) throw new Error('the sandbox has no lab host 1: run scripts/sandbox.sh up')
  return host
})()
const PROJECT = 'vbench'
const DEPLOY_PATH = `/srv/${PROJECT}`
/** Bind-mounted into the containers as /host: the `refuse-<version>` marker files. */
const MARKERS = `/srv/${PROJECT}-host`
const WS = `${env.dir}/ws-${PROJECT}-zero`
const HTTP_PORT = 18095
const ROUTE_HOST = 'bench.test'
const INGRESS = 'versioned-deploy-ingress'
const RUN_ENV = { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'beefcafe0000111122223333444455556666bbbb' }
const RATE = 50
const SLOW_EVERY_MS = 1000
/** One action run at most; the load stops by itself a little after. */
const ACTION_TIMEOUT_MS = 240_000
const LOAD_MAX_MS = ACTION_TIMEOUT_MS + 30_000
const LOAD_TIMEOUT_MS = 10_000
const LOAD_READY_MS = 30_000
const DOCKER_TIMEOUT_MS = 120_000
/** The section of the output file this benchmark owns: from this heading to the next `# `. */
const HEADING = '# Zero-downtime benchmark'

/** The stack, routed for ROUTE_HOST, with `order` (start-first or stop-first). */
const compose = (/** @type {string} */ order) =>
  zeroCompose({ project: PROJECT, host: ROUTE_HOST, markers: MARKERS, order })

/** @param {Record<string, string>} overrides */
function inputs(overrides) {
  return {
    project: PROJECT,
    services: 'web=web',
    host: '127.0.0.1',
    port: String(HOST.sshPort),
    fingerprint: HOST.fingerprint,
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8'),
    'deploy-path': DEPLOY_PATH,
    ingress: 'caddy',
    'ingress-image': 'vd-caddy:2',
    'ingress-http-port': String(HTTP_PORT),
    'ingress-https-port': '0',
    'drain-timeout': '10',
    healthchecks: `cmd:curl -fsS -m 3 -H 'Host: ${ROUTE_HOST}' http://127.0.0.1:${HTTP_PORT}/health`,
    'healthcheck-interval': '1',
    'healthcheck-timeout': '8',
    'healthcheck-monitor': '2',
    'keep-versions': '10',
    ...overrides
  }
}

/** @param {string} engine a DOCKER_HOST value @param {string[]} args */
function docker(engine, args) {
  /** @type {NodeJS.ProcessEnv} */
  const envVars = { ...process.env, DOCKER_HOST: engine, DOCKER_BUILDKIT: '0' }
  delete envVars.DOCKER_CONTEXT
  return execFileSync('docker', args, {
    env: envVars,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    timeout: DOCKER_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe']
  })
}
const onServer = (/** @type {string[]} */ args) => docker(HOST.dockerHost, args)
/** @param {string} text */
const lines = text =>
  text
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
/** Runs a docker command whose failure means only that there was nothing to remove. */
const quietly = (/** @type {() => unknown} */ f) => {
  try {
    f()
  } catch {
    // already gone
  }
}

/**
 * Removes everything the benchmark leaves on host 3 and the runner: the ingress and its volumes,
 * the project's containers, networks and images, its state, the marker files, the workspace.
 */
function cleanUp() {
  quietly(() => onServer(['rm', '-f', INGRESS]))
  quietly(() => onServer(['volume', 'rm', `${INGRESS}-data`, `${INGRESS}-config`]))
  for (const engine of [HOST.dockerHost, env.runnerDockerHost]) {
    const on = (/** @type {string[]} */ args) => docker(engine, args)
    quietly(() => {
      const ids = lines(
        on(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`])
      )
      if (ids.length > 0) on(['rm', '-f', ...ids])
    })
    quietly(() => {
      const refs = lines(on(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).filter(r =>
        r.startsWith(`${PROJECT}-web:`)
      )
      if (refs.length > 0) on(['image', 'rm', '-f', ...refs])
    })
  }
  quietly(() => {
    const networks = lines(
      onServer(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])
    )
    if (networks.length > 0) onServer(['network', 'rm', ...networks])
  })
  rmSync(hostPath(HOST, DEPLOY_PATH), { recursive: true, force: true })
  rmSync(hostPath(HOST, MARKERS), { recursive: true, force: true })
  rmSync(WS, { recursive: true, force: true })
}

/**
 * What ingress-load.mjs reports (see its header; __tests__/e2e/load.ts for the types).
 * @typedef {{ atMs: number, error: string }} LoadFailure
 * @typedef {{ requests: number, ok: number, failed: number, failures: LoadFailure[],
 *   longestGapMs: number,
 *   slow: { started: number, completed: number, cut: number, failures: LoadFailure[] },
 *   answers: { body: string, first: number, last: number, count: number }[],
 *   durationMs: number, ratePerSecond: number }} LoadReport
 */

/**
 * Starts the load inside host 1's network namespace, to host 3 over the lab's LAN (the clients of
 * a server are other machines); resolves once it said ready, to a function
 * that stops it and resolves its report. The load stops by itself after LOAD_MAX_MS anyway.
 * @returns {Promise<() => Promise<LoadReport>>}
 */
async function startLoad() {
  const script = path.join(REPO_ROOT, 'scripts', 'load', 'ingress-load.mjs')
  const args = [
    `--net=${CLIENT.netNs}`,
    '--',
    process.execPath,
    script,
    '--url',
    `http://${HOST.lanAddress}:${HTTP_PORT}`,
    '--host',
    ROUTE_HOST,
    '--path',
    '/version',
    '--rate',
    String(RATE),
    '--slow-path',
    '/cgi-bin/slow',
    // busybox's CGI answers are not framed: a cut one would end early, without this text.
    '--slow-expect',
    'slow',
    '--slow-every-ms',
    String(SLOW_EVERY_MS),
    '--timeout-ms',
    String(LOAD_TIMEOUT_MS),
    '--max-ms',
    String(LOAD_MAX_MS)
  ]
  const child = spawn('nsenter', args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (/** @type {string} */ s) => (stderr += s))
  child.stdin.on('error', () => undefined)
  /** @type {Promise<string>} */
  const exited = new Promise(resolve => {
    child.on('close', (code, signal) => resolve(String(code ?? signal)))
    child.on('error', error => resolve(error.message))
  })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the load did not say ready in ${LOAD_READY_MS} ms: ${stderr}`))
    }, LOAD_READY_MS)
    child.stdout.on('data', (/** @type {string} */ s) => {
      stdout += s
      if (stdout.includes('\n')) {
        clearTimeout(timer)
        resolve(undefined)
      }
    })
    void exited.then(how => {
      clearTimeout(timer)
      reject(new Error(`the load exited before it was ready (${how}): ${stderr}`))
    })
  })
  /** @type {Promise<LoadReport> | undefined} */
  let report
  return () => {
    report ??= (async () => {
      child.stdin.end()
      const killer = setTimeout(() => child.kill('SIGKILL'), LOAD_TIMEOUT_MS + 30_000)
      const how = await exited
      clearTimeout(killer)
      const line = lines(stdout)
        .reverse()
        .find(l => l.startsWith('{') && l.includes('"requests"'))
      if (!line) throw new Error(`the load gave no report (exit ${how}): ${stderr}`)
      return /** @type {LoadReport} */ (JSON.parse(line))
    })()
    return report
  }
}

/**
 * @typedef {{ name: string, order: string, expected: string, code: number, status: string,
 *   phases: Record<string, number>, drainMs: number | undefined, load: LoadReport,
 *   error: string }} Scenario
 */

/** The `::error::` line of a run, decoded. @param {string} log */
function errorOf(log) {
  const line = log.split('\n').find(l => l.startsWith('::error::')) ?? ''
  return line
    .slice('::error::'.length)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%')
}

/**
 * Runs the action with `overrides` while the load runs; `expected` is the status it should end
 * with (success, rolled-back).
 * @param {string} name @param {string} order @param {Record<string, string>} overrides
 * @param {string} expected
 * @returns {Promise<Scenario>}
 */
async function underLoad(name, order, overrides, expected) {
  console.log(`${name}...`)
  const stop = await startLoad()
  try {
    const r = await runAction(inputs(overrides), RUN_ENV, { timeoutMs: ACTION_TIMEOUT_MS })
    // The last requests reach what now serves, so the timeline ends on it.
    await new Promise(res => setTimeout(res, 1000))
    const load = await stop()
    /** @type {Record<string, number>} */
    const phases = {}
    for (const m of r.summary.matchAll(/^\| ([a-z -]+) \| ([\d.]+) s \| (?:ok|failed) \|$/gm))
      phases[m[1] ?? ''] = Number(m[2])
    const drains = [
      ...r.log.matchAll(/route moved to [^;\n]*; the old containers drained in (\d+) ms/g)
    ]
    const scenario = {
      name,
      order,
      expected,
      code: r.code,
      status: r.outputs.status ?? `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}`,
      phases,
      drainMs: drains.length > 0 ? Math.max(...drains.map(m => Number(m[1]))) : undefined,
      load,
      error: errorOf(r.log)
    }
    console.log(`  ${scenario.status}: ${describe(load)}`)
    if (scenario.status !== expected)
      console.log(`  (expected ${expected}) ${scenario.error || r.log.slice(-2000)}`)
    return scenario
  } finally {
    await stop().catch(() => undefined)
  }
}

/** A one-line summary of a load report. @param {LoadReport} r */
function describe(r) {
  const kinds = [...new Set(r.failures.map(f => f.error))]
  const cutKinds = [...new Set(r.slow.failures.map(f => f.error))]
  return (
    `${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s, ` +
    `${r.failed} failed${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}, ` +
    `longest gap ${r.longestGapMs} ms, slow ${r.slow.completed} completed / ${r.slow.cut} cut` +
    `${cutKinds.length > 0 ? ` (${cutKinds.join(', ')})` : ''}, answers ${timeline(r)}`
  )
}
/** @param {LoadReport} r */
const timeline = r => r.answers.map(a => `${a.body || '""'}×${a.count}`).join(' → ')

// The workspace: the image's files and the compose file.
cleanUp()
mkdirSync(hostPath(HOST, MARKERS), { recursive: true })
mkdirSync(path.join(WS, 'web', 'bin'), { recursive: true })
copyFileSync(
  path.join(REPO_ROOT, 'examples', 'stack', 'bin', 'busybox'),
  path.join(WS, 'web', 'bin', 'busybox')
)
writeFileSync(path.join(WS, 'web', 'Dockerfile'), DOCKERFILE)
writeFileSync(path.join(WS, 'web', 'slow'), SLOW, { mode: 0o755 })
const composeFile = path.join(WS, 'docker-compose.yml')
writeFileSync(composeFile, compose('start-first'))

/** @type {Scenario[]} */
const scenarios = []
/** @type {Scenario | undefined} */
let control
try {
  console.log('first deploy b1 (start-first, no load)...')
  const first = await runAction(inputs({ version: 'b1' }), RUN_ENV, {
    timeoutMs: ACTION_TIMEOUT_MS
  })
  const answer = await hostFetch(HOST, `http://127.0.0.1:${HTTP_PORT}/version`, 5000, {
    Host: ROUTE_HOST
  })
  if (first.code !== 0 || answer.body !== 'b1')
    throw new Error(
      `the first deploy failed (exit ${first.code}, the ingress answered ${JSON.stringify(answer.body)}):\n${first.log}`
    )

  scenarios.push(await underLoad('redeploy b2', 'start-first', { version: 'b2' }, 'success'))
  writeFileSync(hostPath(HOST, `${MARKERS}/refuse-b3`), '')
  scenarios.push(
    await underLoad(
      'failed version b3 (rolled back to b2)',
      'start-first',
      { version: 'b3' },
      'rolled-back'
    )
  )
  scenarios.push(
    await underLoad(
      'rollback by name to b1',
      'start-first',
      { command: 'rollback', version: 'b1' },
      'success'
    )
  )
  writeFileSync(composeFile, compose('stop-first'))
  control = await underLoad('redeploy b4 (control)', 'stop-first', { version: 'b4' }, 'success')
} finally {
  console.log('cleaning up...')
  cleanUp()
}

// The report.
if (!control) throw new Error('the control did not run')
const seen = control.load.failed + control.load.slow.cut > 0
/** @type {string[]} */
const targets = []
/** @param {boolean} ok @param {string} what */
const target = (ok, what) => targets.push(`- ${ok ? 'PASS' : 'MISS'}: ${what}`)
for (const s of scenarios) {
  target(
    s.status === s.expected,
    `${s.name}: the action ended ${s.status} (expected ${s.expected})`
  )
  target(s.load.failed === 0, `${s.name}: 0 failed (measured ${s.load.failed})`)
  target(
    s.load.longestGapMs < 1000,
    `${s.name}: longest gap under 1 s (measured ${s.load.longestGapMs} ms)`
  )
  target(s.load.slow.cut === 0, `${s.name}: no slow request cut (measured ${s.load.slow.cut})`)
}
target(
  seen,
  `the control (stop-first) shows failures: ${control.load.failed} failed, ${control.load.slow.cut} slow cut`
)

const secs = (/** @type {number | undefined} */ n) => (n === undefined ? '—' : `${n.toFixed(1)} s`)
const phasesOf = (/** @type {Scenario} */ s) =>
  ['switch', 'verify', 'rollback']
    .filter(p => s.phases[p] !== undefined)
    .map(p => `${p} ${secs(s.phases[p])}`)
    .join(', ') + (s.drainMs === undefined ? '' : `; drain ${s.drainMs} ms`)
const c = control.load
/** @param {Scenario} s */
const versus = s =>
  s === control
    ? '—'
    : `failed ${s.load.failed} vs ${c.failed}; gap ${s.load.longestGapMs} vs ${c.longestGapMs} ms; cut ${s.load.slow.cut} vs ${c.slow.cut}`
const table = [
  '| scenario | order | action | fast requests | failed | longest gap | slow completed / cut | phases (job summary) | vs stop-first control |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...[...scenarios, control].map(s => {
    const kinds = [...new Set(s.load.failures.map(f => f.error))]
    return `| ${s.name} | ${s.order} | ${s.status} | ${s.load.requests} | ${s.load.failed}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''} | ${s.load.longestGapMs} ms | ${s.load.slow.completed} / ${s.load.slow.cut} | ${phasesOf(s)} | ${versus(s)} |`
  })
]
const answers = [...scenarios, control].map(s => `- ${s.name}: ${timeline(s.load)}`)
const machine = [
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  `Linux ${os.release()}`,
  `Docker ${docker(HOST.dockerHost, ['version', '-f', '{{.Server.Version}}']).trim()}`,
  `Node.js ${process.version} (the benchmark and the load), the action on its own Node.js (scripts/run-action.mjs)`
].join(', ')
const section = `${HEADING}

Written by \`npm run bench\` (scripts/bench-zero-downtime.mjs) on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}. The server is the sandbox's lab host 3 (namespaces and an engine of its own),
reached over SSH at 127.0.0.1:${HOST.sshPort}; the action runs \`ingress: caddy\` (image \`vd-caddy:2\`, HTTP on
port ${HTTP_PORT}, no HTTPS). The stack is one service \`web\` (busybox httpd: \`/version\`, a 2 s CGI
\`/cgi-bin/slow\`), routed by its labels, \`stop_grace_period: 1s\`, checked by \`healthchecks\` through the
ingress (settle window 2 s).

The load (scripts/load/ingress-load.mjs, inside host 1's network namespace, to host 3 over the lab's LAN, through the ingress
with \`Host: ${ROUTE_HOST}\`): ${RATE} fast requests a second to \`/version\`, each on a fresh connection, plus a
2 s request to \`/cgi-bin/slow\` started every ${SLOW_EVERY_MS / 1000} s; it runs from before the action starts until 1 s
after it ended. A fast request fails on a connection error, a non-2xx status or a cut body; the
longest gap is the longest time without a successful fast answer; a slow request is cut unless
it ends 2xx with its whole body. The first deploy (b1, start-first) ran without load. b3 answers
its route's check (\`/version\`) but not \`/health\` (a marker file on the server), so it fails the
\`healthchecks\` after the route moved and the action rolls back to b2. The control is the same
compose file with \`order: stop-first\`. Phases are the action's own (job summary); drain is how
long the old containers took to have no request in flight (the longer one when the route moved twice).

${table.join('\n')}

Targets (issue 22), for the three start-first scenarios: 0 failed, longest gap under 1 s, no slow
request cut; the stop-first control must show failures (else the benchmark cannot see downtime).

${targets.join('\n')}

Which version answered, in order (consecutive answers merged):

${answers.join('\n')}
`

writeSection(values.out, HEADING, section)
console.log(`\n${section}`)
if (!seen) {
  console.error(
    'the stop-first control lost no request: this benchmark could not see downtime, so its start-first numbers prove nothing'
  )
  process.exit(1)
}
