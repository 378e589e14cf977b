// engine/commands: each command's story, start to end, over one server or several.
//
// One entry for every command: the action and the CLI both call this with their options.

import type { DeployOptions } from '../../config/options.js'
import { deploy } from './deploy.js'
import { rollbackCommand } from './rollback-command.js'
import { status } from './status.js'
import { history } from './history-command.js'
import { unlock } from './unlock.js'
import type { CommandPorts, CommandResult } from './result.js'
import type { Log } from '../io.js'
import { onEveryServer } from './each-server.js'

export function runCommand(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  const commands = { deploy, rollback: rollbackCommand, status, history, unlock }
  // On several servers, deploy and rollback move them all or none; the others ask each one.
  if (o.command === 'deploy' || o.command === 'rollback') return commands[o.command](o, ports, log)
  return onEveryServer(commands[o.command], o, ports, log)
}
