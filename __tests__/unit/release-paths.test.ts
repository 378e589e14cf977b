import {
  clashOf,
  describeFiles,
  parseFiles,
  projectDirFor,
  projectDirectoryOf
} from '../../src/plan/release-paths.js'

describe('the files input', () => {
  test('one path a line, relative to the workspace, normalised, duplicates dropped', () => {
    expect(parseFiles('nginx/default.conf\n./config/\n# a comment\n\nconfig\nsite//a.txt')).toEqual(
      ['nginx/default.conf', 'config', 'site/a.txt']
    )
    expect(parseFiles('')).toEqual([])
    expect(parseFiles('windows\\style\\app.yml')).toEqual(['windows/style/app.yml'])
  })

  test.each([
    ['../secrets.txt', /"\.\.\/secrets\.txt" contains "\.\."/],
    ['config/../../etc/passwd', /contains "\.\."/],
    ['config/..', /contains "\.\."/],
    ['/etc/passwd', /"\/etc\/passwd" is an absolute path/],
    ['C:\\Users\\me\\app.yml', /is an absolute path/],
    ['.', /is the whole workspace/],
    ['./', /is the whole workspace/]
  ])('%s is refused, naming the input', (line, why) => {
    expect(() => parseFiles(`config/app.yml\n${line}`)).toThrow(/^Input "files": /)
    expect(() => parseFiles(line)).toThrow(why)
  })
})

describe('where a release puts compose', () => {
  test("the compose file's folder in the workspace is the project directory in the release", () => {
    expect(projectDirFor('/w', '/w/docker-compose.yml')).toBe('.')
    expect(projectDirFor('/w', '/w/deploy/prod/compose.yml')).toBe('deploy/prod')
    expect(projectDirFor('/w', '/elsewhere/compose.yml')).toBe('.')
    expect(projectDirFor('/w', '/w2/compose.yml')).toBe('.')
  })

  test('a release with files runs in its folder; one without, in deploy-path', () => {
    const folder = '/opt/shop/.deploy/releases/v1'
    expect(projectDirectoryOf('/opt/shop', folder, undefined)).toBe('/opt/shop')
    expect(projectDirectoryOf('/opt/shop', folder, { count: 1, bytes: 2, dir: '.' })).toBe(folder)
    expect(projectDirectoryOf('/opt/shop', folder, { count: 1, bytes: 2, dir: 'deploy' })).toBe(
      `${folder}/deploy`
    )
  })

  test("a file may not take the place of the stored compose file or of the server's .env", () => {
    expect(clashOf('docker-compose.yml', '.')).toMatch(/stored compose file/)
    expect(clashOf('.env', '.')).toMatch(/would hide the server's \.env/)
    expect(clashOf('deploy/.env', 'deploy')).toMatch(/would hide the server's \.env/)
    expect(clashOf('.env', 'deploy')).toBeUndefined()
    expect(clashOf('config/.env', '.')).toBeUndefined()
    expect(clashOf('deploy/docker-compose.yml', 'deploy')).toBeUndefined()
  })

  test('sizes read like the summary shows them', () => {
    expect(describeFiles({ count: 1, bytes: 12, dir: '.' })).toBe('1 file, 12 B')
    expect(describeFiles({ count: 3, bytes: 1234, dir: '.' })).toBe('3 files, 1.2 kB')
    expect(describeFiles({ count: 40, bytes: 5_600_000, dir: '.' })).toBe('40 files, 5.6 MB')
  })
})
