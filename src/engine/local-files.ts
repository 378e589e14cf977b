// Checks the files a deploy reads on the runner, before anything is built or touched.

import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import type { DeployOptions } from '../config/options.js'
import { InputError } from '../config/options.js'

export function checkLocalFiles(o: DeployOptions): void {
  if (!existsSync(o.composeFile) || !statSync(o.composeFile).isFile()) {
    throw new InputError('compose-file', `${o.composeFile} does not exist or is not a file`)
  }
  for (const s of o.services) {
    if (!existsSync(s.context) || !statSync(s.context).isDirectory()) {
      throw new InputError(
        'services',
        `build context of "${s.name}" (${s.context}) is not a folder`
      )
    }
    const dockerfile = path.resolve(s.context, s.dockerfile)
    if (!existsSync(dockerfile)) {
      throw new InputError('services', `Dockerfile of "${s.name}" (${dockerfile}) does not exist`)
    }
  }
}
