// One entry for every command: the action and the CLI both call this with their options.

import type { DeployOptions } from '../config/options.js'
import { deploy } from './deploy.js'
import { rollbackCommand } from './rollback-command.js'
import { status } from './status.js'
import { history } from './history-command.js'
import { unlock } from './unlock.js'
import type { CommandPorts, CommandResult } from './result.js'
import type { Log } from './io.js'

export function runCommand(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  const commands = { deploy, rollback: rollbackCommand, status, history, unlock }
  return commands[o.command](o, ports, log)
}
