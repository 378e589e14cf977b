// A TCP relay on 127.0.0.1 to a local port, optionally as slow as a real uplink: what goes
// from the client to the server is held to `upRate` bytes a second over all connections (one
// link), and counted. The benchmark puts it between the action and the sandbox's sshd, and so
// do the end-to-end tests that count what a transfer really sent.
import { appendFileSync } from 'node:fs'
import net from 'node:net'

/**
 * @param {{ target: number, upRate?: number, portsFile?: string }} options
 *   target: the port to relay to; upRate: bytes a second (unlimited when absent);
 *   portsFile: a file to which the local port of each connection to the target is appended
 *   (the server sees it in SSH_CONNECTION).
 * @returns {Promise<{ port: number, upBytes: () => number, close: () => Promise<void> }>}
 */
export async function startRelay({ target, upRate, portsFile }) {
  const sockets = new Set()
  let up = 0
  // When the link is free again (ms, Date.now() clock): chunks queue behind each other.
  let linkFreeAt = 0
  const server = net.createServer(client => {
    const upstream = net.connect(target, '127.0.0.1')
    sockets.add(client).add(upstream)
    if (portsFile)
      upstream.once('connect', () => appendFileSync(portsFile, `${upstream.localPort}\n`))
    client.on('data', chunk => {
      up += chunk.length
      const wrote = upstream.write(chunk)
      if (upRate === undefined) {
        if (!wrote) {
          client.pause()
          upstream.once('drain', () => client.resume())
        }
        return
      }
      client.pause()
      linkFreeAt = Math.max(linkFreeAt, Date.now()) + (chunk.length / upRate) * 1000
      setTimeout(
        () => (wrote ? client.resume() : upstream.once('drain', () => client.resume())),
        linkFreeAt - Date.now()
      )
    })
    upstream.on('data', chunk => {
      if (!client.write(chunk)) {
        upstream.pause()
        client.once('drain', () => upstream.resume())
      }
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) {
      s.on('close', end)
      s.on('error', () => undefined)
    }
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(undefined))
  })
  const address = /** @type {net.AddressInfo} */ (server.address())
  return {
    port: address.port,
    upBytes: () => up,
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve(undefined))
      })
  }
}
