import { generateVersion, versionTimestamp, VERSION_PATTERN } from '../../src/plan/version.js'

describe('generateVersion', () => {
  test('is <sha7>-<YYYYMMDD-HHMMSS> in UTC', () => {
    const now = new Date('2025-10-11T14:30:52.123Z')
    expect(generateVersion('E4534E6f00112233445566778899aabbccddeeff', now)).toBe(
      'e4534e6-20251011-143052'
    )
  })
  test('pads months, days and times', () => {
    expect(generateVersion('0000000abc', new Date('2026-01-02T03:04:05Z'))).toBe(
      '0000000-20260102-030405'
    )
  })
  test('refuses something that is not a sha', () => {
    expect(() => generateVersion('main', new Date())).toThrow(/git SHA/)
  })
  test('a generated version is a valid version and carries its time', () => {
    const v = generateVersion('abcdef1234', new Date('2025-12-31T23:59:59Z'))
    expect(VERSION_PATTERN.test(v)).toBe(true)
    expect(versionTimestamp(v)).toBe('20251231-235959')
    expect(versionTimestamp('custom')).toBeUndefined()
  })
})
