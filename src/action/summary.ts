// The job summary: the summary's blocks (src/report/summary.ts) as Markdown, written with
// core.summary.

import * as core from '@actions/core'
import type { CommandResult } from '../engine/commands/result.js'
import { summaryBlocks, type Block, type Cell } from '../report/summary.js'

const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const literal = (text: string) => (text ? `\`${text}\`` : '—')
const cell = (c: Cell) => (typeof c === 'string' ? c : literal(c.code))

function markdown(b: Block): string {
  switch (b.kind) {
    case 'title':
      return `## ${b.text}`
    case 'heading':
      return `### ${b.text}`
    case 'table':
      return [
        `| ${b.head.join(' | ')} |`,
        `| ${b.head.map(() => '---').join(' | ')} |`,
        ...b.rows.map(r => `| ${r.map(c => escape(cell(c))).join(' | ')} |`)
      ].join('\n')
    case 'text':
      return b.text
    case 'list':
      return b.items.map(i => `- ${cell(i)}`).join('\n')
    case 'verbatim':
      return '```text\n' + b.text + '\n```'
    case 'notice':
      return `> ⚠ ${b.text}`
    case 'mermaid':
      return '```mermaid\n' + b.text + '\n```'
  }
}

export function renderSummary(r: CommandResult): string {
  return summaryBlocks(r).map(markdown).join('\n\n') + '\n'
}

/** A summary that cannot be written is a warning, never a failed deploy. */
export async function writeSummary(result: CommandResult): Promise<void> {
  try {
    await core.summary.addRaw(renderSummary(result)).write()
  } catch (e) {
    core.warning(`could not write the job summary: ${(e as Error).message}`)
  }
}
