// What a Dockerfile declares, read as text (no build).

import path from 'node:path'

/** True when the Dockerfile has `ARG <name>` (with or without a default), in any stage. */
export function declaresArg(dockerfile: string, name: string): boolean {
  // Continuation lines are joined first, as the builder does.
  const text = dockerfile.replace(/\\\r?\n/g, ' ')
  return text.split(/\r?\n/).some(line => {
    const m = /^\s*ARG\s+(.+)$/i.exec(line)
    return m?.[1]?.split(/\s+/).some(a => a.split('=')[0] === name) ?? false
  })
}

/** What the legacy builder cannot build: each instruction's flag or form that needs BuildKit. */
const BUILDKIT_ONLY: [RegExp, string][] = [
  [/^#\s*syntax\s*=/i, '# syntax='],
  [/^RUN\s+(?:--\S+\s+)*--mount[=\s]/i, 'RUN --mount'],
  [/^RUN\s+(?:--\S+\s+)*--network[=\s]/i, 'RUN --network'],
  [/^RUN\s+(?:--\S+\s+)*--security[=\s]/i, 'RUN --security'],
  [/^(?:COPY|ADD)\s+(?:--\S+\s+)*--link\b/i, 'COPY --link'],
  [/^(?:COPY|ADD)\s+(?:--\S+\s+)*--exclude[=\s]/i, 'COPY --exclude'],
  [/^(?:COPY|ADD)\s+(?:--\S+\s+)*--parents\b/i, 'COPY --parents'],
  [
    /^(?:RUN|COPY)\s.*<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*(?:$|[\s|&;>])/i,
    'a heredoc (<<EOF)'
  ]
]

/**
 * The first line of a Dockerfile that only BuildKit builds (`RUN --mount`, a heredoc, …), as
 * `{ line, feature }`; undefined when the legacy builder can build it.
 */
export function needsBuildKit(dockerfile: string): { line: number; feature: string } | undefined {
  const lines = dockerfile.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? '').trim()
    // A parser directive stands before any instruction; elsewhere `#` starts a comment.
    const directive = BUILDKIT_ONLY[0]
    if (text.startsWith('#')) {
      if (directive && directive[0].test(text) && !lines.slice(0, i).some(isInstruction)) {
        return { line: i + 1, feature: directive[1] }
      }
      continue
    }
    for (const [pattern, feature] of BUILDKIT_ONLY.slice(1)) {
      if (pattern.test(text)) return { line: i + 1, feature }
    }
  }
  return undefined
}

const isInstruction = (line: string) => {
  const t = line.trim()
  return t !== '' && !t.startsWith('#')
}

/** The ids of the secrets a Dockerfile's RUN steps mount (`--mount=type=secret,id=…`). */
export function secretMounts(dockerfile: string): string[] {
  const ids = new Set<string>()
  for (const m of dockerfile.matchAll(/--mount=(\S+)/g)) {
    const fields = new Map(
      (m[1] ?? '').split(',').map(f => [f.split('=')[0] ?? '', f.split('=')[1] ?? ''] as const)
    )
    if (fields.get('type') !== 'secret') continue
    // Without id=, BuildKit takes the target's base name (default /run/secrets/<id>).
    const id =
      fields.get('id') || path.posix.basename(fields.get('target') ?? fields.get('dst') ?? '')
    if (id) ids.add(id)
  }
  return [...ids]
}
