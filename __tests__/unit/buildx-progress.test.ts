// The step a failed BuildKit build stopped at, from buildx's plain progress.

import { failedStep } from '../../src/docker/buildx-progress.js'

test('the failed step and its reason', () => {
  const lines = [
    '#3 [internal] load build context',
    '#3 DONE 0.0s',
    '#4 [1/1] COPY does-not-exist /x',
    '#4 ERROR: "/does-not-exist" not found: not found',
    '------',
    ' > [1/1] COPY does-not-exist /x:',
    '------',
    'ERROR: failed to solve: failed to compute cache key: "/does-not-exist" not found: not found'
  ]
  expect(failedStep(lines)).toEqual({
    step: 'COPY does-not-exist /x',
    error: '"/does-not-exist" not found: not found'
  })
})

test('a RUN step of a named stage, with its output between', () => {
  const lines = [
    '#7 [build 2/2] RUN make',
    '#7 0.065 make: *** No rule to make target.  Stop.',
    '#7 ERROR: executor failed running [/bin/sh -c make]: exit code: 2'
  ]
  expect(failedStep(lines)).toEqual({
    step: 'RUN make',
    error: 'executor failed running [/bin/sh -c make]: exit code: 2'
  })
})

test("a vertex of buildx's own, and no error at all", () => {
  expect(failedStep(['#9 exporting to image', '#9 ERROR: no space left on device'])).toEqual({
    step: 'exporting to image',
    error: 'no space left on device'
  })
  expect(failedStep(['#1 DONE 0.0s', 'ERROR: something else'])).toBeUndefined()
})
