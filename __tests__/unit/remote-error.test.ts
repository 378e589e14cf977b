import { RemoteCommandError, lastWords } from '../../src/remote/ssh.js'

const lines = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n')

describe("a failed remote command's own words", () => {
  test('lastWords keeps the last lines of standard error', () => {
    expect(lastWords({ code: 1, stdout: 'progress', stderr: `${lines(12, 'err')}\n` })).toBe(
      lines(12, 'err').split('\n').slice(2).join('\n')
    )
    expect(lastWords({ code: 1, stdout: '', stderr: 'a\nb\nc' }, 2)).toBe('b\nc')
  })

  test('falls back to standard output when standard error is empty or blank', () => {
    expect(lastWords({ code: 1, stdout: 'only here\n', stderr: ' \n' })).toBe('only here')
    expect(lastWords({ code: 1, stdout: '', stderr: '' })).toBe('')
  })

  test('RemoteCommandError names the exit code, the command and quotes what it said', () => {
    const e = new RemoteCommandError(['docker', 'compose', 'up'], {
      code: 15,
      stdout: '',
      stderr: 'env file /srv/app/.env not found: stat /srv/app/.env: no such file or directory\n'
    })
    expect(e.message).toBe(
      'remote command failed (exit 15): docker compose up\nenv file /srv/app/.env not found: stat /srv/app/.env: no such file or directory'
    )
  })
})
