// Bad usage: an unknown command or flag, a missing or bad option, an unreadable config file.
// The CLI exits 2 with the message, before anything is sent to any server.

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
