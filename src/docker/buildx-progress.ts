// What buildx's plain progress says about a failed build: the step that failed and why. Pure.
//
// A step's lines all start with its vertex number: `#4 [build 1/2] RUN make`, then its output,
// then `#4 ERROR: <why>` (or `#4 DONE`).

export interface FailedStep {
  /** The instruction, as buildx names it: `RUN make`, `COPY does-not-exist /x`. */
  step: string
  /** BuildKit's reason. */
  error: string
}

/** The last step that reported an error, with its instruction; undefined when none did. */
export function failedStep(lines: readonly string[]): FailedStep | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^#(\d+) ERROR: (.*)$/.exec(lines[i] ?? '')
    if (!m) continue
    const [, id, error = ''] = m
    const title = lines
      .map(l => new RegExp(`^#${id} \\[[^\\]]*\\] (.+)$`).exec(l)?.[1])
      .find(t => t !== undefined)
    // A vertex without a stage is buildx's own (loading the context, exporting).
    const other = lines.map(l => new RegExp(`^#${id} (.+)$`).exec(l)?.[1]).find(t => t)
    return { step: title ?? other ?? `#${id}`, error }
  }
  return undefined
}
