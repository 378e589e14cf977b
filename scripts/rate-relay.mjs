// A TCP relay on 127.0.0.1 to a local port, the one link between a client and the sandbox's
// sshd for the benchmark and the end-to-end tests: what goes from the client to the server is
// counted, can be held to `upRate` bytes a second over all connections (as slow as a real
// uplink), and can be cut after a number of bytes (a link that breaks mid-transfer).
import { appendFileSync } from 'node:fs'
import net from 'node:net'

// The most link time, in ms, that a late resume can make up (see below).
const BURST_MS = 20

/**
 * @typedef {{ target: number, upRate?: number, portsFile?: string, cutAfterBytes?: number,
 *   staysDown?: boolean }} RelayOptions
 *   target: the port to relay to; upRate: bytes a second (unlimited when absent);
 *   portsFile: a file to which the local port of each connection to the target is appended
 *   (the server sees it in SSH_CONNECTION); cutAfterBytes: a connection is cut (both sockets
 *   destroyed) once that many bytes went from its client to the server, after forwarding
 *   exactly that many; staysDown: after a cut, every later connection is closed at once,
 *   before it reaches the target (counted in `refused`).
 * @typedef {{ port: number, upBytes: () => number, cuts: number[], refused: () => number,
 *   close: () => Promise<void> }} Relay
 *   upBytes: bytes from clients to the server, all connections; cuts: the index (in the order
 *   they came) of each connection cut.
 * @param {RelayOptions} options
 * @returns {Promise<Relay>}
 */
export async function startRelay({ target, upRate, portsFile, cutAfterBytes, staysDown }) {
  const sockets = new Set()
  let up = 0
  let connections = 0
  let refused = 0
  /** @type {number[]} */
  const cuts = []
  // When the link is free again (ms, Date.now() clock): chunks queue behind each other.
  let linkFreeAt = 0
  const server = net.createServer(client => {
    if (staysDown && cuts.length > 0) {
      refused++
      client.destroy()
      return
    }
    const index = connections++
    let carried = 0
    const upstream = net.connect(target, '127.0.0.1')
    sockets.add(client).add(upstream)
    if (portsFile)
      upstream.once('connect', () => appendFileSync(portsFile, `${upstream.localPort}\n`))
    client.on('data', chunk => {
      if (cutAfterBytes !== undefined && carried + chunk.length >= cutAfterBytes) {
        // Forward exactly up to the limit, then cut: the server sees a stream that stops.
        const last = chunk.subarray(0, Math.max(0, cutAfterBytes - carried))
        up += last.length
        carried = cutAfterBytes
        client.pause()
        upstream.write(last, () => {
          cuts.push(index)
          client.destroy()
          upstream.destroy()
        })
        return
      }
      carried += chunk.length
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
      // The link is free again once this chunk has passed. A link with data waiting for it is
      // never idle; this relay's timers fire late when the machine is busy (it shares the
      // cores with all it measures), so up to BURST_MS of link time a late timer lost is made
      // up, as a token bucket with that depth would.
      linkFreeAt = Math.max(linkFreeAt, Date.now() - BURST_MS) + (chunk.length / upRate) * 1000
      setTimeout(
        () => (wrote ? client.resume() : upstream.once('drain', () => client.resume())),
        Math.max(0, linkFreeAt - Date.now())
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
    cuts,
    refused: () => refused,
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve(undefined))
      })
  }
}
