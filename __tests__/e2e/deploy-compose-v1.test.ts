// The deploy suite (deploy-suite.ts) once more on Compose v1: for as long as this file runs, the
// server's `docker` answers `docker compose` as a Docker without the plugin does, so the action
// falls back to `docker-compose` (1.29).

import { composeV1Only } from './compose-flavour.js'
import { deploySuite } from './deploy-suite.js'

let restore: () => void = () => undefined
beforeAll(() => {
  restore = composeV1Only()
})
afterAll(() => restore())

deploySuite('v1')
