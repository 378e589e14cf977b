// What a Dockerfile declares, read as text (no build).

/** True when the Dockerfile has `ARG <name>` (with or without a default), in any stage. */
export function declaresArg(dockerfile: string, name: string): boolean {
  // Continuation lines are joined first, as the builder does.
  const text = dockerfile.replace(/\\\r?\n/g, ' ')
  return text.split(/\r?\n/).some(line => {
    const m = /^\s*ARG\s+(.+)$/i.exec(line)
    return m?.[1]?.split(/\s+/).some(a => a.split('=')[0] === name) ?? false
  })
}
