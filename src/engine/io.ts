// What the engine needs from its surroundings: a log, and the clock of named phases.

export interface Log {
  info(message: string): void
  warn(message: string): void
  /** Runs `fn` inside a collapsible log group named `name`. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

export interface PhaseTiming {
  name: string
  ms: number
  ok: boolean
  /** When it started (ms since the epoch). */
  start?: number
}

/** Runs the named phases of a flow, each in its own log group, and keeps their timings. */
export class Phases {
  constructor(
    private readonly log: Log,
    readonly timings: PhaseTiming[] = []
  ) {}

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = Date.now()
    try {
      const value = await this.log.group(name, fn)
      this.timings.push({ name, ms: Date.now() - start, ok: true, start })
      return value
    } catch (e) {
      this.timings.push({ name, ms: Date.now() - start, ok: false, start })
      throw e
    }
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
