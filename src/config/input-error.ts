// The error of a bad input, raised before anything is touched. Its own file so that the layers
// that check inputs (config, plan, remote's known-hosts) need no more than this.

/** A bad input: names the input and says what is allowed. Raised before anything is touched. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string
  ) {
    super(`Input "${input}": ${message}`)
    this.name = 'InputError'
  }
}
