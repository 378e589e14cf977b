// The deploy suite (deploy-suite.ts) on Compose v2, the flavour users have: the sandbox's
// server offers both, and the action picks `docker compose` first.

import { deploySuite } from './deploy-suite.js'

deploySuite('v2')
