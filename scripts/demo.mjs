// The demo: the main job on the sandbox, as a newcomer would see it. It deploys the example
// stack (bridge networking) through the bundled action to the lab's host1, then a broken version
// that is rolled back on its own, then a good second version; rolls back by hand to the first
// (command: rollback, no version), asks for the status, and prints the history kept on the
// server with what can still be restored.
import { runAction } from './run-action.mjs'
import { exampleStackInputs, hostFetch, readSandboxEnv } from './sandbox-env.mjs'

const env = readSandboxEnv()
const server = env.hosts[0]
if (!server) throw new Error('the sandbox has no lab host: run bash scripts/sandbox.sh up')
const inputs = {
  ...exampleStackInputs(env, {
    project: 'vdemo',
    composeFile: 'examples/stack/docker-compose.yml',
    deployPath: '/srv/vdemo',
    healthchecks:
      'http://127.0.0.1:18081/health\nhttp://127.0.0.1:18082/health\ntcp://127.0.0.1:18083'
  }),
  'healthcheck-timeout': '30'
}
const sha = () =>
  Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('')

/** @param {string} title @param {Record<string, string>} more */
async function step(title, more) {
  console.log(`\n=== ${title} ===`)
  const run = await runAction({ ...inputs, ...more }, { GITHUB_SHA: sha() }, { echo: true })
  console.log(
    `\n--- outputs: status=${run.outputs.status} version=${run.outputs.version} previous-version=${run.outputs['previous-version']} rolled-back=${run.outputs['rolled-back']}`
  )
  return run
}

const good = await step('1. Deploy the example stack', {})
if (good.code !== 0) process.exit(1)
// A second apart, so the generated versions differ.
await new Promise(r => setTimeout(r, 1100))
const bad = await step('2. Deploy a broken version: the health checks fail and it rolls back', {
  'build-args': 'VARIANT=broken'
})
if (bad.outputs.status !== 'rolled-back') process.exit(1)

await new Promise(r => setTimeout(r, 1100))
const second = await step('3. Deploy a good second version', {})
if (second.code !== 0) process.exit(1)

const back = await step('4. Roll back by hand to the previous good version (command: rollback)', {
  command: 'rollback',
  services: ''
})
if (back.outputs.version !== good.outputs.version) process.exit(1)

const status = await step('5. What runs, and is it healthy? (command: status)', {
  command: 'status',
  services: ''
})
console.log(`--- healthy=${status.outputs.healthy}`)

const history = await step('6. The history on the server (command: history)', {
  command: 'history',
  services: ''
})
console.log(`--- restorable-versions=${history.outputs['restorable-versions']}`)
// The stack's ports are published on the server's own loopback: ask from there.
const live = await hostFetch(server, 'http://127.0.0.1:18081/version')
const viaWeb = await hostFetch(server, 'http://127.0.0.1:18082/cgi-bin/api')
console.log(
  `\nLive version now on ${server.name}: ${live.body} (the first deploy, restored by hand)`
)
console.log(`web asks api by its service name: ${viaWeb.body}`)
