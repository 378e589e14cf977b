// The tar method ships only what the server lacks, end to end through the bundled action, with
// every byte counted by a relay in front of the sshd of lab host 1 (not by the action's own
// report). Project `vdelta`: one image with an 8 MiB random layer that stays the same across
// versions and a small layer that changes with each, served on host 1's loopback. Tests run in
// order.

import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { clearProject, hostPath, nonEmpty } from './sandbox-env.js'
import {
  KIT_DIR,
  Relay,
  env,
  errorOf,
  installShim,
  runStep,
  runner,
  server,
  type Step
} from './fault-kit.js'
import { HOST, httpGet } from './stack.js'

const PROJECT = 'vdelta'
const FIXTURE = '__tests__/e2e/fixtures/vdelta'
/** The deploy path on host 1, and where that folder is on this machine. */
const DEPLOY_PATH = `/srv/${PROJECT}`
const DEPLOY_DIR = hostPath(HOST, DEPLOY_PATH)
/** A tag on the server that holds the big layer while no container uses it. */
const SPARE = 'spare-vdelta:1'
const MiB = 1024 * 1024

function inputs(port: number, overrides: Record<string, string>): Record<string, string> {
  return {
    project: PROJECT,
    services: `app=${FIXTURE}`,
    'compose-file': `${FIXTURE}/docker-compose.yml`,
    host: env.sshHost,
    port: String(port),
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8'),
    fingerprint: env.fingerprint,
    'deploy-path': DEPLOY_PATH,
    healthchecks: 'http://127.0.0.1:18281/version',
    'healthcheck-interval': '1',
    'healthcheck-timeout': '30',
    'healthcheck-monitor': '1',
    ...overrides
  }
}

/**
 * Runs the step through a fresh relay to host 1's sshd (fault-kit's Relay: the docker shims of
 * installShim act on its sessions only); returns it with the bytes that went to the server.
 */
async function throughRelay(
  overrides: Record<string, string>,
  upRate?: number
): Promise<Step & { up: number }> {
  const relay = new Relay({ host: HOST, upRate })
  try {
    const run = await runStep(inputs(await relay.start(), overrides), { timeoutMs: 180_000 })
    return { ...run, up: relay.upBytes }
  } finally {
    await relay.close()
  }
}

/** Runs the step through a relay with the shim `fault` for the server's docker (installShim). */
async function withDockerShim(
  fault: string,
  overrides: Record<string, string>
): Promise<Step & { up: number }> {
  const remove = installShim('docker', fault)
  try {
    return await throughRelay(overrides)
  } finally {
    remove()
  }
}

/** A docker shim fault: `docker load` keeps its input in "$in", runs `check`, then loads it. */
const onLoad = (check: string) => `if [ "$1" = load ]; then
  t=$(mktemp -d)
  in="$t/in"
  cat > "$in"
${check}
  "$REAL" load < "$in"
  rc=$?
  rm -rf "$t"
  exit $rc
fi`

function expectSuccess(run: Step, version: string) {
  expect([version, run.code, run.outputs.status, errorOf(run)]).toEqual([version, 0, 'success', ''])
}

const live = async () => (await httpGet('http://127.0.0.1:18281/version')).body
const imageBytes = (version: string) =>
  Number(runner(['image', 'inspect', '--format', '{{.Size}}', `${PROJECT}-app:${version}`]).trim())

/** Removes the project from host 1 (its containers, images, deploy path and the stack's
 *  network) and from the runner. */
function reset() {
  clearProject(env.serverDockerHost, PROJECT)
  clearProject(env.runnerDockerHost, PROJECT)
  rmSync(DEPLOY_DIR, { recursive: true, force: true })
  const networks = nonEmpty(
    server(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])
  )
  if (networks.length > 0) server(['network', 'rm', ...networks])
}

beforeAll(() => {
  mkdirSync(`${FIXTURE}/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${FIXTURE}/bin/busybox`)
  reset()
  server(['image', 'rm', '-f', SPARE])
})

afterAll(() => {
  reset()
  server(['image', 'rm', '-f', SPARE])
})

test('a first deploy sends every layer, and says how far it is every 5 s on a slow link', async () => {
  // 1.5 MB/s: the 8 MiB layer takes about 6 s.
  const run = await throughRelay({ version: 'd1' }, 1_500_000)
  expectSuccess(run, 'd1')
  expect(await live()).toBe('d1')
  expect(run.up).toBeGreaterThan(8 * MiB)
  const progress = run.log
    .split('\n')
    .filter(l =>
      /^transfer: [\d.]+ MiB of ~[\d.]+ MiB read, [\d.]+ MiB sent, [\d.]+ MiB\/s, about \d+ s left$/.test(
        l
      )
    )
  expect(progress.length).toBeGreaterThanOrEqual(1)
  expect(progress.length).toBeLessThanOrEqual(Math.ceil(run.ms / 5000))
})

test('a redeploy after an app-only change sends less than 10% of the image', async () => {
  const run = await throughRelay({ version: 'd2' })
  expectSuccess(run, 'd2')
  expect(await live()).toBe('d2')
  expect(run.up).toBeLessThan(0.1 * imageBytes('d2'))
  // Only the top layer is new: the lower ones are left out as the archive streams.
  expect(run.log).toMatch(
    /the server holds 2 of 3 layer\(s\): leaving them out as the archive streams/
  )
  expect(run.summary).toMatch(
    /\| [\d.]+ MiB for [\d.]+ MiB of [\d.]+ MiB: 2 of 3 layer\(s\) already on the server \|/
  )
})

test('a rollback to a version still on the server sends no image bytes', async () => {
  const run = await throughRelay({ command: 'rollback', services: '' })
  expect([run.code, run.outputs.status, run.outputs.version]).toEqual([0, 'success', 'd1'])
  expect(await live()).toBe('d1')
  // The SSH handshake and the commands only: far below the 8 MiB layer, or even the app layer.
  expect(run.up).toBeLessThan(256 * 1024)
})

test('a server that refuses an archive without the layers it holds gets every layer', async () => {
  // Like an engine with the containerd image store: every layer file the manifest names must
  // be in the archive (for the relay's sessions only).
  const run = await withDockerShim(
    onLoad(`  for f in $(gzip -dc "$in" | tar -xOf - manifest.json | grep -oE '[0-9a-f]{64}/layer\\.tar|blobs/sha256/[0-9a-f]{64}'); do
    if ! gzip -dc "$in" | tar -tf - | grep -qxF "$f"; then
      echo "Error response from daemon: $f: not found (this image store needs every layer)" >&2
      rm -rf "$t"
      exit 1
    fi
  done`),
    { version: 'd3' }
  )
  expectSuccess(run, 'd3')
  expect(await live()).toBe('d3')
  expect(run.log).toMatch(
    /::warning::the server refused the archive without the layers it holds \(docker load exit 1: .*this image store needs every layer\)\); sending every layer/
  )
  expect(run.up).toBeGreaterThan(8 * MiB)
  expect(run.summary).toContain('every layer, after the server refused a partial archive')
})

test('a layer pruned between the check and the load: every layer is sent', async () => {
  // The big layer stays on the server only through a tag no container uses; the project is gone.
  server(['tag', `${PROJECT}-app:d3`, SPARE])
  // The runner keeps its images: its build cache keeps the big layer the same for d4.
  clearProject(env.serverDockerHost, PROJECT)
  rmSync(DEPLOY_DIR, { recursive: true, force: true })
  // Removed once docker load has its archive, as a `docker image prune` on the server would.
  const run = await withDockerShim(
    onLoad(`  if "$REAL" image inspect ${SPARE} >/dev/null 2>&1; then
    "$REAL" image rm ${SPARE} >/dev/null
  fi`),
    { version: 'd4' }
  )
  expectSuccess(run, 'd4')
  expect(await live()).toBe('d4')
  expect(run.log).toMatch(
    /the server holds 2 of 3 layer\(s\): leaving them out as the archive streams/
  )
  expect(run.log).toMatch(
    /::warning::the server refused the archive without the layers it holds \(docker load exit 1: .*(layer\.tar|blobs\/sha256).*\); sending every layer/
  )
  expect(server(['image', 'ls', '-q', SPARE])).toBe('')
})

test('a redeploy whose lower layer changed too: the manifest of one export says what to leave out of another', async () => {
  // A new BASE_SEED makes the 8 MiB layer again (new random bytes), its bottom layer cached: d5
  // shares only that bottom layer with d4 on the server. (Without any build cache, BuildKit 0.8
  // would make the bottom layer again too: its /bin gets the build's time.)
  clearProject(env.runnerDockerHost, PROJECT)
  const run = await throughRelay({ version: 'd5', 'build-args': 'BASE_SEED=2' })
  expectSuccess(run, 'd5')
  expect(await live()).toBe('d5')
  expect(run.log).toMatch(/the server holds 1 of 3 layer\(s\) \([\d.]+ MiB\): leaving them out$/m)
  // The new 8 MiB layer travels; the held bottom one does not.
  expect(run.up).toBeGreaterThan(8 * MiB)
  expect(run.summary).toMatch(/: 1 of 3 layer\(s\) already on the server \|/)
})

test('compression none: docker load gets the archive as it is, and the version runs', async () => {
  // The big layer is not on the server any more: it must go again, now uncompressed.
  clearProject(env.serverDockerHost, PROJECT)
  rmSync(DEPLOY_DIR, { recursive: true, force: true })
  // Notes the first two bytes that docker load reads (a gzip stream starts with 1f 8b).
  const magic = `${KIT_DIR}/load-magic`
  rmSync(magic, { force: true })
  const run = await withDockerShim(
    onLoad(`  head -c 2 "$in" | od -An -tx1 | tr -d ' \\n' > '${magic}'`),
    { version: 'd5', compression: 'none' }
  )
  expectSuccess(run, 'd5')
  expect(await live()).toBe('d5')
  expect(run.log).toMatch(/sent 1 image\(s\), [\d.]+ MiB \(compression: none\)/)
  expect(readFileSync(magic, 'utf8')).toMatch(/^[0-9a-f]{4}$/)
  expect(readFileSync(magic, 'utf8')).not.toBe('1f8b')
  expect(run.up).toBeGreaterThan(8 * MiB)
})
