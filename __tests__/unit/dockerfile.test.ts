// What a Dockerfile needs of its builder, read as text: the features only BuildKit builds.

import { needsBuildKit, secretMounts } from '../../src/docker/dockerfile.js'

describe('a Dockerfile that only BuildKit builds', () => {
  test.each([
    ['# syntax=docker/dockerfile:1\nFROM scratch', 1, '# syntax='],
    ['FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm ci', 2, 'RUN --mount'],
    ['FROM x\nRUN   --network=none --mount=type=secret,id=t cat /run/secrets/t', 2, 'RUN --mount'],
    ['FROM x\nRUN --network=none make', 2, 'RUN --network'],
    ['FROM x\nrun --mount=type=bind,target=/src make', 2, 'RUN --mount'],
    ['FROM x\nRUN --security=insecure ls', 2, 'RUN --security'],
    ['FROM x\nCOPY --link . /app', 2, 'COPY --link'],
    ['FROM x\nCOPY --chown=1:1 --link a /a', 2, 'COPY --link'],
    ['FROM x\nADD --link a /a', 2, 'COPY --link'],
    ['FROM x\nCOPY --exclude=*.md . /app', 2, 'COPY --exclude'],
    ['FROM x\nCOPY --parents a/b /c', 2, 'COPY --parents'],
    ['FROM x\nRUN <<EOF\necho hi\nEOF', 2, 'a heredoc (<<EOF)'],
    ['FROM x\nRUN cat <<-"END" > /f\nx\nEND', 2, 'a heredoc (<<EOF)'],
    ['FROM x\nCOPY <<EOF /etc/motd\nhello\nEOF', 2, 'a heredoc (<<EOF)']
  ])('%j: line %d, %s', (text, line, feature) => {
    expect(needsBuildKit(text)).toEqual({ line, feature })
  })

  test.each([
    'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]',
    // A syntax line after an instruction is a comment, not a directive.
    'FROM x\n# syntax=docker/dockerfile:1\nRUN echo hi',
    // Options of a command run by RUN are not RUN's own.
    'FROM x\nRUN npm ci --mount=nothing',
    'FROM x\nCOPY --chown=1:1 --from=build /out /app',
    'FROM x\n# RUN --mount=type=cache,target=/x true',
    "FROM x\nRUN echo '<<'",
    'FROM x\nRUN test 1 -lt 2'
  ])('%j: the legacy builder builds it', text => {
    expect(needsBuildKit(text)).toBeUndefined()
  })
})

test('the secrets a Dockerfile mounts', () => {
  expect(
    secretMounts(
      [
        'FROM x',
        'RUN --mount=type=secret,id=npm npm ci',
        'RUN --mount=type=cache,target=/c --mount=id=gh,type=secret,required=true make',
        'RUN --mount=type=secret,target=/run/secrets/aws aws s3 ls',
        'RUN --mount=type=secret,id=npm npm test'
      ].join('\n')
    )
  ).toEqual(['npm', 'gh', 'aws'])
  expect(secretMounts('FROM x\nRUN make')).toEqual([])
})
