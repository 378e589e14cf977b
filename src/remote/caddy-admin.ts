// Caddy's admin API on the server. It listens on the ingress container's own loopback, where no
// other container and no network reaches it: each request is one `docker exec -i … nc` on the
// server, over the run's SSH connection, that carries the HTTP exchange. Moves bytes; what to ask
// is decided in engine/ingress.ts.

import http from 'node:http'
import type { Remote } from './remote.js'
import { ADMIN_PORT } from '../plan/caddy-config.js'
import { ingressAdminPipe } from './ingress-commands.js'

export interface AdminReply {
  status: number
  body: string
}

const TIMEOUT_MS = 10_000

/** One request to the admin API; a JSON body when `body` is given. */
export async function adminRequest(
  remote: Remote,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown
): Promise<AdminReply> {
  const pipe = await remote.converse(ingressAdminPipe())
  const payload = body === undefined ? undefined : JSON.stringify(body)
  try {
    return await new Promise<AdminReply>((resolve, reject) => {
      const req = http.request(
        {
          method,
          path,
          headers: {
            // Caddy accepts admin requests whose Host is the address it listens on.
            Host: `127.0.0.1:${ADMIN_PORT}`,
            Connection: 'close',
            ...(payload === undefined
              ? {}
              : {
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(payload)
                })
          },
          createConnection: () => pipe.io as never,
          timeout: TIMEOUT_MS
        },
        res => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
          res.on('error', reject)
        }
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)))
      // No answer at all: the pipe's own error says why (no such container, no nc in its image).
      req.on('error', (e: Error) => {
        const said = pipe.stderr().trim().split('\n').slice(-3).join('\n')
        reject(said ? new Error(`${e.message}: ${said}`) : e)
      })
      req.end(payload)
    })
  } finally {
    pipe.io.destroy()
  }
}

/** Like adminRequest, but a status other than 2xx is an error naming the request. */
export async function admin(
  remote: Remote,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown
): Promise<string> {
  const r = await adminRequest(remote, method, path, body)
  if (r.status < 200 || r.status >= 300) {
    throw new Error(
      `the ingress's admin API refused ${method} ${path}: HTTP ${r.status} ${r.body.trim().slice(0, 300)}`
    )
  }
  return r.body
}
