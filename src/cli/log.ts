// The engine's log for people at a terminal: each phase as a "▸ name" heading with its lines
// indented below it; warnings on stderr.

import type { Log } from '../engine/io.js'

export type Write = (text: string) => void

export function textLog(out: Write, err: Write): Log {
  let depth = 0
  const indent = (text: string) => {
    const pad = '  '.repeat(depth)
    return text
      .split('\n')
      .map(l => pad + l)
      .join('\n')
  }
  return {
    info: m => out(indent(m) + '\n'),
    warn: m => err(indent(`warning: ${m}`) + '\n'),
    async group(name, fn) {
      out(indent(`▸ ${name}`) + '\n')
      depth++
      const start = Date.now()
      try {
        return await fn()
      } catch (e) {
        err(indent(`✖ ${name} failed after ${((Date.now() - start) / 1000).toFixed(1)} s`) + '\n')
        throw e
      } finally {
        depth--
      }
    }
  }
}
