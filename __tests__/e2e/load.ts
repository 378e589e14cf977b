// HTTP load on a lab host, to prove that a deploy drops no request: scripts/load/ingress-load.mjs
// run inside the host's network namespace (so it reaches the host's own loopback), started
// before the deploy and stopped after it. Used by the end-to-end tests and the benchmark.

import { spawn } from 'node:child_process'
import path from 'node:path'
import { repoRoot, type LabHost } from './sandbox-env.js'

/** A request that failed: when it ended (ms since the load began) and how. */
export interface LoadFailure {
  atMs: number
  /** `ECONNREFUSED`, `ECONNRESET`, `HTTP 502`, `timeout`, `incomplete body`, ... */
  error: string
}

/** A run of successful fast answers with the same body, in the order they completed. */
export interface AnswerRun {
  /** The body, trimmed, its first 80 characters. */
  body: string
  /** When the first and the last of the run completed (ms since the load began). */
  first: number
  last: number
  count: number
}

/** What ingress-load.mjs reports once stopped. */
export interface LoadReport {
  /** Fast requests sent. */
  requests: number
  /** Fast requests answered with a 2xx status and a whole body. */
  ok: number
  failed: number
  /** The first 20 failures of fast requests. */
  failures: LoadFailure[]
  /** The longest time, from start to stop, with no successful fast answer. */
  longestGapMs: number
  slow: {
    started: number
    /** A 2xx status and a whole body. */
    completed: number
    /** Everything else: resets, timeouts, other statuses, bodies cut short. */
    cut: number
    /** The first 20. */
    failures: LoadFailure[]
  }
  /** The bodies of the successful fast answers, consecutive same ones merged. */
  answers: AnswerRun[]
  durationMs: number
  /** Fast requests sent a second. */
  ratePerSecond: number
}

export interface LoadOptions {
  /** The base URL, e.g. http://127.0.0.1:8080 (as seen from inside the lab host). */
  url: string
  /** The Host header sent. */
  host: string
  /** The fast requests' path (default /). */
  path?: string
  /** Fast requests a second, each on a fresh connection (default 50). */
  rate?: number
  /** The slow requests' path (default /cgi-bin/slow). */
  slowPath?: string
  /**
   * A slow answer counts as completed only if its body holds this text: catches a body that
   * ends only when the connection closes (no Content-Length, not chunked) and was cut short.
   */
  slowExpect?: string
  /** One slow request started every so many ms; 0 (the default): none. */
  slowEveryMs?: number
  /** Per request (default 10000). */
  timeoutMs?: number
  /** The load stops by itself after this long (default 180000). */
  maxMs?: number
}

/** A load that runs; stop() ends it and resolves its report. */
export interface Load {
  stop(): Promise<LoadReport>
}

const SCRIPT = path.join(repoRoot, 'scripts', 'load', 'ingress-load.mjs')
/** The script says it is ready within 3 s; nsenter and Node's start-up come on top. */
const READY_TIMEOUT_MS = 30_000

/** The command-line arguments of ingress-load.mjs for `o`. */
function loadArgs(o: LoadOptions): string[] {
  const args = ['--url', o.url, '--host', o.host]
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(flag, String(value))
  }
  add('--path', o.path)
  add('--rate', o.rate)
  add('--slow-path', o.slowPath)
  add('--slow-expect', o.slowExpect)
  add('--slow-every-ms', o.slowEveryMs)
  add('--timeout-ms', o.timeoutMs)
  add('--max-ms', o.maxMs)
  return args
}

/** The last line of `stdout` that is a JSON report (not the ready line). */
function lastReport(stdout: string): LoadReport | undefined {
  const lines = stdout.split('\n').map(s => s.trim())
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]
    if (!line?.startsWith('{')) continue
    try {
      const value = JSON.parse(line) as unknown
      if (value && typeof value === 'object' && 'requests' in value) return value as LoadReport
    } catch {
      // Not JSON: look further up.
    }
  }
  return undefined
}

/** Starts the load inside lab host `host`'s network namespace; resolves once it is ready. */
export async function startLoad(host: LabHost, o: LoadOptions): Promise<Load> {
  const child = spawn(
    'nsenter',
    [`--net=${host.netNs}`, '--', process.execPath, SCRIPT, ...loadArgs(o)],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (s: string) => (stderr += s))
  // The load stops when its stdin ends; a write to it that fails (it exited) is no news.
  child.stdin.on('error', () => undefined)

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => {
    child.on('close', (code, signal) => resolve({ code, signal }))
    child.on('error', error => {
      stderr += `${error.message}\n`
      resolve({ code: null, signal: null })
    })
  })
  const failure = (what: string, how: { code: number | null; signal: NodeJS.Signals | null }) =>
    new Error(
      `ingress-load ${what} (exit ${how.code ?? how.signal ?? 'unknown'}): ${stderr.trim() || '(no stderr)'}`
    )

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`ingress-load did not say ready in ${READY_TIMEOUT_MS} ms: ${stderr}`))
    }, READY_TIMEOUT_MS)
    child.stdout.on('data', (s: string) => {
      stdout += s
      if (stdout.includes('\n')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then(how => {
      clearTimeout(timer)
      reject(failure('exited before it was ready', how))
    })
  })

  let report: Promise<LoadReport> | undefined
  return {
    stop() {
      report ??= (async () => {
        child.stdin.end()
        // It waits for the requests in flight (each bounded by its timeout) before it reports:
        // should it hang past that, it is killed and the missing report said.
        const bound = (o.timeoutMs ?? 10_000) + 30_000
        const killer = setTimeout(() => child.kill('SIGKILL'), bound)
        const how = await exited
        clearTimeout(killer)
        const parsed = lastReport(stdout)
        if (!parsed) throw failure('gave no report', how)
        return parsed
      })()
      return report
    }
  }
}

/** A one-line summary of a load report, for test messages and the benchmark. */
export function describeLoad(r: LoadReport): string {
  const kinds = [...new Set(r.failures.map(f => f.error))]
  const failed = r.failed > 0 ? `${r.failed} failed (${kinds.join(', ')})` : '0 failed'
  const slow =
    r.slow.started > 0
      ? `, slow ${r.slow.completed} completed / ${r.slow.cut} cut` +
        (r.slow.cut > 0 ? ` (${[...new Set(r.slow.failures.map(f => f.error))].join(', ')})` : '')
      : ''
  const answers =
    r.answers.length > 0
      ? r.answers.map(a => `${a.body || '""'}×${a.count}`).join(' → ')
      : 'no answer'
  return (
    `${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s (${r.ratePerSecond}/s), ` +
    `${failed}, longest gap ${r.longestGapMs} ms${slow}, answers ${answers}`
  )
}
