// Reads and writes the state the server keeps in `<deploy-path>/.deploy/`.

import type { Remote } from '../../remote/remote.js'
import { runChecked } from '../../remote/ssh.js'
import { appendFile, readState as readStateCmd, stateDir } from '../../remote/commands.js'
import { uploadFile } from '../stack/stack.js'
import {
  parseHistory,
  serializeHistory,
  serializeRecord,
  type DeployRecord
} from '../../plan/history.js'

export interface ServerState {
  currentVersion: string
  currentMethod: string
  /** Oldest first. */
  history: DeployRecord[]
  damagedLines: number[]
}

/** The warning for lines of versions.log that were skipped, if any. */
export function reportDamagedLines(state: ServerState, notice: (m: string) => void): void {
  if (state.damagedLines.length > 0) {
    notice(`versions.log: skipped damaged line(s) ${state.damagedLines.join(', ')}`)
  }
}

export async function readServerState(remote: Remote, deployPath: string): Promise<ServerState> {
  const out = await runChecked(remote, readStateCmd(deployPath))
  const [currentVersion = '', currentMethod = '', ...rest] = out.split('\n')
  const parsed = parseHistory(rest.join('\n'))
  return {
    currentVersion: currentVersion.trim(),
    currentMethod: currentMethod.trim(),
    history: parsed.records,
    damagedLines: parsed.damagedLines
  }
}

export async function writeCurrent(
  remote: Remote,
  deployPath: string,
  version: string,
  method: string
): Promise<void> {
  const dir = stateDir(deployPath)
  await uploadFile(remote, `${dir}/current_version`, `${version}\n`)
  await uploadFile(remote, `${dir}/current_method`, `${method}\n`)
}

export async function appendRecords(
  remote: Remote,
  deployPath: string,
  records: DeployRecord[]
): Promise<void> {
  const text = records.map(r => serializeRecord(r) + '\n').join('')
  const file = `${stateDir(deployPath)}/versions.log`
  await runChecked(remote, appendFile(file, Buffer.byteLength(text)), text)
}

export async function rewriteHistory(
  remote: Remote,
  deployPath: string,
  records: DeployRecord[]
): Promise<void> {
  await uploadFile(remote, `${stateDir(deployPath)}/versions.log`, serializeHistory(records))
}
