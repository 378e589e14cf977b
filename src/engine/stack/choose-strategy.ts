// The stack strategy of an orchestrator. The implementations import only the interface
// (stack-strategy.ts); the choice lives here, so that nothing imports in a circle.

import type { Orchestrator } from '../../config/options.js'
import type { StackStrategy } from './stack-strategy.js'
import { composeStack } from './compose-stack.js'
import { swarmStack } from './swarm-stack.js'

export function stackStrategy(orchestrator: Orchestrator): StackStrategy {
  return orchestrator === 'swarm' ? swarmStack : composeStack
}
