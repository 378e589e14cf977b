// Compose's variable interpolation, understood enough to know where an `image:` takes its tag.
// Pure. The action always sets DEPLOY_VERSION (never empty) when it runs compose; any other
// variable comes from the server's environment or `.env`, which the runner cannot see.

/** Stands for the value of DEPLOY_VERSION inside a resolved string. */
export const VERSION_MARK = '\u0000DEPLOY_VERSION\u0000'
/** Stands for the value of a variable the action cannot know. */
export const UNKNOWN_MARK = '\u0000?\u0000'

export interface Interpolated {
  /** The text with `$$` unescaped, DEPLOY_VERSION as VERSION_MARK, other variables as UNKNOWN_MARK. */
  text: string
  /** Names of the variables the action cannot resolve, in order of appearance. */
  unknown: string[]
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const

export class InterpolationError extends Error {}

/** Index of the `}` that closes the `${` opened just before `from`, counting nested `${…}`. */
function closingBrace(text: string, from: number): number {
  let depth = 1
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++
      i++
    } else if (text[i] === '}' && --depth === 0) return i
  }
  return -1
}

/**
 * Resolves `$NAME`, `${NAME}`, `${NAME:-x}`, `${NAME-x}`, `${NAME:?e}`, `${NAME:+x}` … and `$$`.
 * `known` holds other variables the action sets itself, never empty (swarm: DEPLOY_REGISTRY).
 */
export function interpolate(
  text: string,
  known: Readonly<Record<string, string>> = {}
): Interpolated {
  let out = ''
  const unknown: string[] = []
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    if (ch !== '$') {
      out += ch
      continue
    }
    const next = text[i + 1]
    if (next === '$') {
      out += '$'
      i++
      continue
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2)
      if (end < 0) throw new InterpolationError(`"${text}" has a "\${" without its "}"`)
      const inner = text.slice(i + 2, end)
      const name = NAME.exec(inner)?.[0]
      if (!name) throw new InterpolationError(`"${text}" has an invalid variable "\${${inner}}"`)
      const rest = inner.slice(name.length)
      const op = OPERATORS.find(o => rest.startsWith(o))
      if (rest !== '' && !op) {
        throw new InterpolationError(`"${text}" has an invalid variable "\${${inner}}"`)
      }
      const operand = op ? rest.slice(op.length) : ''
      const value = name === 'DEPLOY_VERSION' ? VERSION_MARK : known[name]
      if (value !== undefined) {
        // Always set and never empty: only `+` / `:+` give their operand instead of the value.
        if (op === ':+' || op === '+') {
          const alt = interpolate(operand, known)
          out += alt.text
          unknown.push(...alt.unknown)
        } else out += value
      } else {
        out += UNKNOWN_MARK
        unknown.push(name)
      }
      i = end
      continue
    }
    const name = NAME.exec(text.slice(i + 1))?.[0]
    if (name) {
      const value = name === 'DEPLOY_VERSION' ? VERSION_MARK : known[name]
      if (value !== undefined) out += value
      else {
        out += UNKNOWN_MARK
        unknown.push(name)
      }
      i += name.length
      continue
    }
    out += '$'
  }
  return { text: out, unknown: [...new Set(unknown)] }
}
