// The Engine API's JSON progress streams (build, push): errors arrive inside the stream with
// HTTP 200, so a stream is read to its end and its error kept.

import type Docker from 'dockerode'

export interface ProgressEvent {
  error?: string
  errorDetail?: { message?: string }
}

/** Reads `stream` to its end, handing each event to `onEvent`; returns the error it reported. */
export async function followProgress<E extends ProgressEvent>(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent: (event: E) => void
): Promise<string | undefined> {
  let error: string | undefined
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: E) => {
        if (event.error || event.errorDetail) error = event.errorDetail?.message || event.error
        onEvent(event)
      }
    )
  })
  return error?.trim()
}
