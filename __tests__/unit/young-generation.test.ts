import { restartArgv, type NodeStart } from '../../src/runtime/young-generation.js'

const start: NodeStart = {
  execPath: '/usr/bin/node',
  execArgv: ['--enable-source-maps'],
  argv: ['/usr/bin/node', '/runner/_actions/x/dist/index.js', 'extra'],
  nodeOptions: undefined,
  canExecve: true
}

test('restarts node with 1 MiB semi-spaces, keeping its flags, the script and its arguments', () => {
  expect(restartArgv(start)).toEqual([
    '/usr/bin/node',
    '--max-semi-space-size=1',
    '--enable-source-maps',
    '/runner/_actions/x/dist/index.js',
    'extra'
  ])
})

test('no restart once restarted, or when the user chose a size, or without execve', () => {
  expect(restartArgv({ ...start, execArgv: ['--max-semi-space-size=1'] })).toBeUndefined()
  expect(restartArgv({ ...start, nodeOptions: '--max-semi-space-size=16' })).toBeUndefined()
  expect(restartArgv({ ...start, canExecve: false })).toBeUndefined()
})

test('other NODE_OPTIONS do not prevent the restart (node reads them again)', () => {
  expect(restartArgv({ ...start, nodeOptions: '--max-old-space-size=4096' })?.[1]).toBe(
    '--max-semi-space-size=1'
  )
})
