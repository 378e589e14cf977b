// A bounded HTTP load generator, to prove that a deploy drops no request. It runs inside a lab
// host's network namespace (`nsenter --net=<netns> -- node scripts/load/ingress-load.mjs ...`),
// so it uses Node's built-ins only and talks to that host's own loopback.
//
// Fast requests go to `--path` at `--rate` a second on a fixed cadence (a hung request does not
// slow the others), each on a fresh connection. Every `--slow-every-ms` one slow request goes to
// `--slow-path` (say a CGI that sleeps), to see whether requests in flight survive the deploy.
//
// Stdout: `{"ready":true}` first, once a fast request got an HTTP answer (or after 3 s anyway);
// then, once stopped, one JSON line: the report (see Report below). It stops when its stdin ends,
// on SIGTERM or SIGINT, or after `--max-ms`: it starts no new request, waits for those in flight
// (each bounded by `--timeout-ms`), prints the report and exits 0. Bad arguments: exit 2.
//
//   --url http://127.0.0.1:PORT  base URL          --host NAME        Host header
//   --path /version              fast path         --rate 50          fast requests a second
//   --slow-path /cgi-bin/slow    slow path         --slow-every-ms 1000  (0: no slow requests)
//   --timeout-ms 10000           per request       --max-ms 180000    stops by itself then
//   --slow-expect TEXT           a slow answer counts as completed only if its body holds TEXT
//
// A request is ok (fast) or completed (slow) when its status is 2xx and its body came whole. A
// body framed by Content-Length or chunked encoding that stops short is caught; one that ends
// only when the server closes the connection (an HTTP/1.0-style CGI behind busybox httpd, say)
// looks whole even when the server died mid-way: give --slow-expect the text such a slow answer
// ends with to catch that too.
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

/** How many failures (fast and slow, each) the report lists; the counts cover all of them. */
const MAX_LISTED = 20
/** How long to wait for a first answer before saying ready anyway. */
const READY_ANYWAY_MS = 3000
/** The most of a body kept (the answers timeline shows its first 80 characters). */
const BODY_KEEP = 4096

/**
 * @typedef {{ atMs: number, error: string }} Failure
 *   atMs: when the request ended, ms since the start; error: `ECONNREFUSED`, `ECONNRESET`,
 *   `HTTP 502`, `timeout`, ...
 * @typedef {{ body: string, first: number, last: number, count: number }} AnswerRun
 *   A run of successful fast answers with the same body (trimmed, first 80 characters), in the
 *   order they completed: `first` and `last` are ms since the start.
 * @typedef {{ requests: number, ok: number, failed: number, failures: Failure[],
 *   longestGapMs: number,
 *   slow: { started: number, completed: number, cut: number, failures: Failure[] },
 *   answers: AnswerRun[], durationMs: number, ratePerSecond: number }} Report
 * @typedef {{ url: string, host: string, path: string, rate: number, slowPath: string,
 *   slowExpect: string, slowEveryMs: number, timeoutMs: number, maxMs: number }} Options
 * @typedef {{ ok: true, status: number, body: string } | { ok: false, error: string }} Outcome
 */

/** @returns {Options} */
function readOptions() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string', default: '/' },
      rate: { type: 'string', default: '50' },
      'slow-path': { type: 'string', default: '/cgi-bin/slow' },
      'slow-expect': { type: 'string', default: '' },
      'slow-every-ms': { type: 'string', default: '0' },
      'timeout-ms': { type: 'string', default: '10000' },
      'max-ms': { type: 'string', default: '180000' }
    },
    strict: true,
    allowPositionals: false
  })
  /** @param {string} name @param {string | undefined} text @param {number} min */
  const number = (name, text, min) => {
    const n = Number(text)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}`)
    return n
  }
  if (!values.url) throw new Error('--url is required (e.g. http://127.0.0.1:8080)')
  const base = new URL(values.url)
  if (base.protocol !== 'http:') throw new Error('--url must be an http:// URL')
  const rate = number('rate', values.rate, 0)
  if (rate <= 0 || rate > 1000) throw new Error('--rate must be above 0 and at most 1000')
  return {
    url: values.url,
    host: values.host ?? base.host,
    path: values.path ?? '/',
    rate,
    slowPath: values['slow-path'] ?? '/cgi-bin/slow',
    slowExpect: values['slow-expect'] ?? '',
    slowEveryMs: number('slow-every-ms', values['slow-every-ms'], 0),
    timeoutMs: number('timeout-ms', values['timeout-ms'], 1),
    maxMs: number('max-ms', values['max-ms'], 1)
  }
}

/**
 * The name of a request's error: its code (ECONNREFUSED, ECONNRESET...) or its message.
 * @param {unknown} error
 */
function errorName(error) {
  if (error && typeof error === 'object') {
    const code = /** @type {{ code?: unknown }} */ (error).code
    if (typeof code === 'string' && code) return code
    const message = /** @type {{ message?: unknown }} */ (error).message
    if (typeof message === 'string' && message) return message
  }
  return String(error)
}

/**
 * Consecutive answers with the same body merged into runs.
 * @param {{ atMs: number, body: string }[]} answers in the order they completed
 * @returns {AnswerRun[]}
 */
function answerRuns(answers) {
  /** @type {AnswerRun[]} */
  const runs = []
  for (const { atMs, body } of answers) {
    const last = runs[runs.length - 1]
    if (last && last.body === body) {
      last.last = atMs
      last.count++
    } else runs.push({ body, first: atMs, last: atMs, count: 1 })
  }
  return runs
}

/**
 * The longest stretch between `startMs` and `stopMs` with no time in `times` (sorted here).
 * @param {number[]} times @param {number} startMs @param {number} stopMs
 */
function longestGap(times, startMs, stopMs) {
  const points = times.map(t => Math.min(Math.max(t, startMs), stopMs)).sort((a, b) => a - b)
  let longest = 0
  let previous = startMs
  for (const t of [...points, stopMs]) {
    longest = Math.max(longest, t - previous)
    previous = t
  }
  return longest
}

async function main() {
  /** @type {Options} */
  let o
  try {
    o = readOptions()
  } catch (error) {
    process.stderr.write(`ingress-load: ${errorName(error)}\n`)
    process.exit(2)
  }
  const fastUrl = new URL(o.path, o.url)
  const slowUrl = new URL(o.slowPath, o.url)
  const t0 = performance.now()
  const now = () => performance.now() - t0

  /** Requests in flight: each one's abort (it then ends with that error). */
  /** @type {Set<(error: string) => void>} */
  const inFlight = new Set()
  /** @type {Set<() => void>} */
  const drained = new Set()

  /**
   * One GET on a fresh connection, bounded by timeoutMs; resolves how it ended. `onAnswer` is
   * called when the response's head arrives; `expect`, when given, must be in the body.
   * @param {URL} url @param {{ onAnswer?: () => void, expect?: string }} [how]
   * @returns {Promise<Outcome>}
   */
  const get = (url, { onAnswer, expect } = {}) =>
    new Promise(resolve => {
      let settled = false
      /** @type {(outcome: Outcome) => void} */
      const settle = outcome => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        inFlight.delete(abort)
        resolve(outcome)
        if (inFlight.size === 0) for (const f of drained) f()
      }
      const req = http.request(url, {
        method: 'GET',
        agent: false,
        // A CGI behind busybox httpd ends its header lines with a bare LF, which Node's strict
        // parser rejects: this tool counts dropped requests, it does not judge the server's HTTP.
        insecureHTTPParser: true,
        headers: { Host: o.host, Connection: 'close', 'User-Agent': 'vd-ingress-load' }
      })
      /** @param {string} error */
      const abort = error => {
        settle({ ok: false, error })
        req.destroy()
      }
      const timer = setTimeout(() => abort('timeout'), o.timeoutMs)
      inFlight.add(abort)
      req.on('error', error => settle({ ok: false, error: errorName(error) }))
      req.on('response', res => {
        const status = res.statusCode ?? 0
        onAnswer?.()
        /** @type {Buffer[]} */
        const chunks = []
        let kept = 0
        // `expect` is looked for byte by byte (latin1), across chunks: `tail` is what is left of
        // the body so far that could still begin it.
        const wanted = expect ? Buffer.from(expect, 'utf8').toString('latin1') : ''
        let found = !wanted
        let tail = ''
        res.on('data', (/** @type {Buffer} */ chunk) => {
          if (kept < BODY_KEEP) {
            chunks.push(chunk)
            kept += chunk.length
          }
          if (!found) {
            const text = tail + chunk.toString('latin1')
            found = text.includes(wanted)
            tail = text.slice(-(wanted.length - 1) || text.length)
          }
        })
        res.on('error', error => settle({ ok: false, error: errorName(error) }))
        res.on('end', () => {
          if (!res.complete) settle({ ok: false, error: 'incomplete body' })
          else if (status < 200 || status > 299) settle({ ok: false, error: `HTTP ${status}` })
          else if (!found)
            settle({ ok: false, error: `incomplete body (no ${JSON.stringify(expect)})` })
          else settle({ ok: true, status, body: Buffer.concat(chunks).toString('utf8') })
        })
        res.on('close', () => settle({ ok: false, error: 'incomplete body' }))
      })
      req.end()
    })

  // Ready: once a first fast request got an HTTP answer, or after READY_ANYWAY_MS anyway.
  let ready = false
  const sayReady = () => {
    if (ready) return
    ready = true
    clearTimeout(readyAnyway)
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
  }
  const readyAnyway = setTimeout(sayReady, READY_ANYWAY_MS)

  let stopping = false
  let requests = 0
  let ok = 0
  let failed = 0
  /** @type {Failure[]} */
  const failures = []
  /** @type {{ atMs: number, body: string }[]} */
  const answers = []
  const slow = { started: 0, completed: 0, cut: 0, failures: /** @type {Failure[]} */ ([]) }

  const fast = async () => {
    requests++
    const outcome = await get(fastUrl, { onAnswer: sayReady })
    const atMs = Math.round(now())
    if (outcome.ok) {
      ok++
      answers.push({ atMs: now(), body: outcome.body.trim().slice(0, 80) })
    } else {
      failed++
      if (failures.length < MAX_LISTED) failures.push({ atMs, error: outcome.error })
    }
  }
  const slowOne = async () => {
    slow.started++
    const outcome = await get(slowUrl, { expect: o.slowExpect })
    if (outcome.ok) slow.completed++
    else {
      slow.cut++
      if (slow.failures.length < MAX_LISTED)
        slow.failures.push({ atMs: Math.round(now()), error: outcome.error })
    }
  }

  // The fast cadence: request k is due at k / rate seconds; each tick sends every request due
  // by now, so a late timer catches up and a hung request holds nothing back.
  const tick = () => {
    if (stopping) return
    const due = Math.floor((now() * o.rate) / 1000) + 1
    while (requests < due) void fast()
  }
  const fastTimer = setInterval(tick, Math.max(1, Math.floor(1000 / o.rate)))
  tick()
  /** @type {NodeJS.Timeout | undefined} */
  let slowTimer
  if (o.slowEveryMs > 0) {
    slowTimer = setInterval(() => {
      if (!stopping) void slowOne()
    }, o.slowEveryMs)
    void slowOne()
  }

  /** @type {Promise<number>} */
  const stopped = new Promise(resolve => {
    const stop = () => {
      if (stopping) return
      stopping = true
      clearInterval(fastTimer)
      clearInterval(slowTimer)
      resolve(now())
    }
    process.stdin.on('end', stop)
    process.stdin.on('close', stop)
    process.stdin.on('error', stop)
    process.stdin.resume()
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    setTimeout(stop, o.maxMs).unref()
  })
  const stopMs = await stopped

  // Let the requests in flight end: each is bounded by timeoutMs; past that (and a margin),
  // whatever is left is aborted.
  if (inFlight.size > 0) {
    await new Promise(resolve => {
      const done = () => {
        clearTimeout(bound)
        resolve(undefined)
      }
      const bound = setTimeout(() => {
        for (const abort of [...inFlight]) abort('timeout')
        done()
      }, o.timeoutMs + 1000)
      drained.add(done)
    })
  }
  // Let the last completions' handlers (after the promise of `get` resolved) run.
  await new Promise(resolve => setImmediate(resolve))
  sayReady()

  /** @type {Report} */
  const report = {
    requests,
    ok,
    failed,
    failures,
    longestGapMs: Math.round(
      longestGap(
        answers.map(a => a.atMs),
        0,
        stopMs
      )
    ),
    slow,
    answers: answerRuns(answers).map(r => ({
      ...r,
      first: Math.round(r.first),
      last: Math.round(r.last)
    })),
    durationMs: Math.round(stopMs),
    ratePerSecond: stopMs > 0 ? Math.round((requests / (stopMs / 1000)) * 10) / 10 : 0
  }
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0))
}

main().catch(error => {
  process.stderr.write(`ingress-load: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
