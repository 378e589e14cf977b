// The one place where arguments become shell text. Every remote command is an
// argument list; nothing else in the project concatenates user text into a command.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** POSIX single-quote escaping: the result is always read back as exactly `arg`. */
export function shQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a command argument cannot contain a NUL byte')
  if (SAFE.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Turns an argument list into one command line for the remote shell. */
export function shJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command')
  return argv.map(shQuote).join(' ')
}
