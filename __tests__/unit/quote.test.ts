import { shJoin, shQuote } from '../../src/remote/quote.js'
import { execFileSync } from 'node:child_process'

describe('shQuote', () => {
  test.each([
    ['plain', 'plain'],
    ['/opt/app/.deploy', '/opt/app/.deploy'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$(touch /tmp/pwned)', "'$(touch /tmp/pwned)'"],
    ['`id`', "'`id`'"],
    ['a;b', "'a;b'"],
    ['line\nbreak', "'line\nbreak'"],
    ['*', "'*'"]
  ])('%j → %s', (input, expected) => {
    expect(shQuote(input)).toBe(expected)
  })

  test('refuses a NUL byte', () => {
    expect(() => shQuote('a\0b')).toThrow(/NUL/)
  })

  test('a real shell reads every argument back unchanged, and runs none of it', () => {
    const hostile = [
      '$(echo pwned)',
      '`echo pwned`',
      'a\'b"c',
      'x;echo pwned',
      'new\nline',
      '$HOME',
      '\\'
    ]
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shJoin(hostile)}`]).toString()
    expect(out.split('\0').slice(0, -1)).toEqual(hostile)
  })
})

describe('shJoin', () => {
  test('joins quoted arguments', () => {
    expect(shJoin(['docker', 'tag', 'a:b', 'c d'])).toBe("docker tag a:b 'c d'")
  })
  test('refuses an empty command', () => {
    expect(() => shJoin([])).toThrow(/empty/)
  })
})
