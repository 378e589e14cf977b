// The compose commands of a switch that leaves unchanged services running (plan/unchanged-services.ts).
// A plain `up` would recreate them: the image tag is part of the config hash compose compares
// (v2: ServiceHash of the service config; v1: config_dict's options.image).

import { compose, composeUp, type Argv, type ComposeTarget } from './commands.js'

export interface SwitchSplit {
  unchanged: readonly string[]
  changed: readonly string[]
}

/**
 * Brings up only `services`, recreating what differs. --no-deps: their dependencies are
 * unchanged ones, left running. No --remove-orphans with a service list: compose before 2.23.2
 * took the services left out of it for orphans (docker/compose#11204).
 */
export function composeUpOnly(target: ComposeTarget, services: readonly string[]): Argv {
  return compose(target, ['up', '-d', '--no-build', '--no-deps', ...services])
}

/**
 * Every service, none recreated: starts what is stopped, creates what is missing, removes the
 * containers of services the file no longer has.
 */
export function composeUpKeeping(target: ComposeTarget): Argv {
  return compose(target, ['up', '-d', '--no-build', '--no-recreate', '--remove-orphans'])
}

/**
 * The switch's compose commands, in order. With nothing to keep it is the plain `up` it has
 * always been (a first deploy, or every service changed).
 */
export function composeSwitch(target: ComposeTarget, split: SwitchSplit): Argv[] {
  if (split.unchanged.length === 0) return [composeUp(target)]
  return [
    ...(split.changed.length > 0 ? [composeUpOnly(target, split.changed)] : []),
    composeUpKeeping(target)
  ]
}

/**
 * The config hash compose computes now for each of `services` (`<service> <hash>` a line), to
 * compare with the label its containers were created with: a difference means the server's
 * environment, an env file or compose itself changed since, and compose would recreate them.
 */
export function composeConfigHashes(target: ComposeTarget, services: readonly string[]): Argv {
  return compose(target, ['config', `--hash=${services.join(',')}`])
}

/** `<service> <config hash>` of every container of the project, one a line. */
export function containerConfigHashes(project: string): Argv {
  return [
    'docker',
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    'label=com.docker.compose.oneoff=False',
    '--format',
    '{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.config-hash"}}'
  ]
}
