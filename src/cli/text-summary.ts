// The summary's blocks (src/report/summary.ts) as plain text: the tables the action writes to
// the job summary, aligned in columns for a terminal.

import type { CommandResult } from '../engine/commands/result.js'
import { summaryBlocks, type Block, type Cell } from '../report/summary.js'

const cell = (c: Cell) => (typeof c === 'string' ? c : c.code || '—').replace(/\n/g, ' ')

/** Columns a terminal gives a text: emoji take two, variation selectors none. */
export function displayWidth(text: string): number {
  let width = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp === 0xfe0f || (cp >= 0x300 && cp < 0x370)) continue
    width +=
      cp >= 0x1f300 || (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ? 2 : 1
  }
  return width
}

const pad = (text: string, width: number) => text + ' '.repeat(width - displayWidth(text))

function table(head: string[], rows: Cell[][]): string {
  const lines = [head, ...rows.map(r => r.map(cell))]
  const widths = head.map((_, i) => Math.max(...lines.map(l => displayWidth(l[i] ?? ''))))
  const render = (l: string[]) =>
    l
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [
    render(head),
    widths.map(w => '─'.repeat(w)).join('  '),
    ...lines.slice(1).map(render)
  ].join('\n')
}

function text(b: Block): string {
  switch (b.kind) {
    case 'title':
      return `${b.text}\n${'═'.repeat(displayWidth(b.text))}`
    case 'heading':
      return b.text
    case 'table':
      return table(b.head, b.rows)
    case 'text':
    case 'verbatim':
      return b.text
    case 'list':
      return b.items.map(i => `- ${cell(i)}`).join('\n')
    case 'notice':
      return `⚠ ${b.text}`
    case 'mermaid':
      return ''
  }
}

export function renderText(r: CommandResult): string {
  // A terminal cannot draw a chart: each server's phases are in the Servers table.
  const blocks = summaryBlocks(r).filter(b => b.kind !== 'mermaid')
  // A heading sits right above what it names; other blocks are a blank line apart.
  return (
    blocks
      .map(
        (b, i) => text(b) + (i === blocks.length - 1 ? '' : b.kind === 'heading' ? '\n' : '\n\n')
      )
      .join('') + '\n'
  )
}
