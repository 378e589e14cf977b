import { EventEmitter } from 'node:events'
import { collect } from '../../src/remote/ssh.js'

/** A stand-in for an ssh2 exec channel: events only. */
function fakeChannel() {
  const channel = Object.assign(new EventEmitter(), { stderr: new EventEmitter() })
  return { channel, asChannel: channel as unknown as Parameters<typeof collect>[0] }
}

function connection() {
  let lose: (e: Error) => void = () => undefined
  const closed = new Promise<void>((_, reject) => (lose = reject))
  closed.catch(() => undefined)
  return { closed, lose }
}

describe('collect (a command channel on an SSH connection)', () => {
  test('returns the output and the exit status', async () => {
    const { channel, asChannel } = fakeChannel()
    const result = collect(asChannel, connection().closed, 10)
    channel.emit('data', Buffer.from('loaded\n'))
    channel.stderr.emit('data', Buffer.from('warn\n'))
    channel.emit('exit', 3)
    channel.emit('close')
    await expect(result).resolves.toEqual({ code: 3, stdout: 'loaded\n', stderr: 'warn\n' })
  })

  test('a channel that closes just before its connection is lost reports the lost connection', async () => {
    const { channel, asChannel } = fakeChannel()
    const conn = connection()
    const result = collect(asChannel, conn.closed, 1000)
    channel.emit('close')
    setTimeout(() => conn.lose(new Error('SSH connection lost: read ECONNRESET')), 20)
    await expect(result).rejects.toThrow('SSH connection lost: read ECONNRESET')
  })

  test('a channel that closes without an exit status on a live connection fails with 255', async () => {
    const { channel, asChannel } = fakeChannel()
    const result = collect(asChannel, connection().closed, 10)
    channel.emit('data', Buffer.from('part'))
    channel.emit('close')
    await expect(result).resolves.toEqual({
      code: 255,
      stdout: 'part',
      stderr: '\nthe channel closed before it exited'
    })
  })

  test('a command killed by a signal says so at once', async () => {
    const { channel, asChannel } = fakeChannel()
    const result = collect(asChannel, connection().closed, 60_000)
    channel.emit('exit', null, 'KILL')
    channel.emit('close')
    await expect(result).resolves.toMatchObject({
      code: 255,
      stderr: '\nkilled by signal KILL'
    })
  })
})
