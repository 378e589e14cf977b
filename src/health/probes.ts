// One attempt of one health check, run from the server's side: http/tcp through an SSH tunnel
// (so internal ports need not be exposed), `cmd:` as a command on the server.

import http from 'node:http'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import type { HealthCheck } from '../config/options.js'
import type { Remote } from '../remote/remote.js'
import { shellCheck } from '../remote/commands.js'

export interface ProbeResult {
  ok: boolean
  /** What came back: status line, error, or command output. */
  detail: string
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The first words of a response body, without markup, for reports. */
function textOf(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 80)
}

async function probeHttp(remote: Remote, url: URL): Promise<ProbeResult> {
  const secure = url.protocol === 'https:'
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || (secure ? 443 : 80))
  const tunnel = await remote.tunnel(host, port)
  const socket: Duplex = secure ? tls.connect({ socket: tunnel, servername: host }) : tunnel
  try {
    return await new Promise<ProbeResult>((resolve, reject) => {
      const req = http.request(
        {
          method: 'GET',
          path: `${url.pathname}${url.search}`,
          headers: { Host: url.host, 'User-Agent': 'versioned-deploy', Connection: 'close' },
          createConnection: () => socket as never
        },
        res => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            if (body.length < 200) body += chunk
          })
          res.on('end', () => {
            const code = res.statusCode ?? 0
            resolve({
              ok: code >= 200 && code < 400,
              detail: `HTTP ${code} ${textOf(body)}`.trim()
            })
          })
          res.on('error', reject)
        }
      )
      req.on('error', reject)
      req.end()
    })
  } finally {
    socket.destroy()
    tunnel.destroy()
  }
}

async function probeTcp(remote: Remote, host: string, port: number): Promise<ProbeResult> {
  const tunnel = await remote.tunnel(host, port)
  tunnel.destroy()
  return { ok: true, detail: `connected to ${host}:${port}` }
}

async function probeCmd(remote: Remote, command: string): Promise<ProbeResult> {
  const r = await remote.run(shellCheck(command))
  const output = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')
  return { ok: r.code === 0, detail: `exit ${r.code}${output ? `: ${output}` : ''}` }
}

export async function probe(
  remote: Remote,
  check: HealthCheck,
  timeoutMs: number
): Promise<ProbeResult> {
  try {
    const attempt =
      check.kind === 'http'
        ? probeHttp(remote, new URL(check.url))
        : check.kind === 'tcp'
          ? probeTcp(remote, check.host, check.port)
          : probeCmd(remote, check.command)
    return await withTimeout(attempt, timeoutMs, check.line)
  } catch (e) {
    return { ok: false, detail: (e as Error).message }
  }
}
