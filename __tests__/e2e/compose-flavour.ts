// A switch of the compose flavour the sandbox's server offers. It has both; composeV1Only()
// drops a `docker` program into the sandbox's shim directory (first in the PATH of every SSH
// session, see scripts/sandbox.sh) that answers `docker compose …` as a Docker CLI without the
// Compose plugin does and runs the real docker for everything else.

import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { SHIM_DIR } from './stack.js'

/** Hides Compose v2 from the server's SSH sessions; returns the function that shows it again. */
export function composeV1Only(): () => void {
  const file = `${SHIM_DIR}/docker`
  if (existsSync(file)) throw new Error(`${file} exists: another test's shim was left behind`)
  mkdirSync(SHIM_DIR, { recursive: true })
  writeFileSync(
    file,
    `#!/bin/sh
# Installed by __tests__/e2e/compose-flavour.ts while the Compose v1 run of the deploy suite
# lasts: a server whose docker has no compose plugin.
PATH=$(printf '%s' "$PATH" | tr ':' '\\n' | grep -vxF '${SHIM_DIR}' | paste -sd: -)
export PATH
if [ "$1" = compose ]; then
  echo "docker: 'compose' is not a docker command." >&2
  echo "See 'docker --help'" >&2
  exit 1
fi
exec docker "$@"
`
  )
  chmodSync(file, 0o755)
  return () => rmSync(file, { force: true })
}
