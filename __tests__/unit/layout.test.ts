// The shape of the code: no module of src/ imports itself back through others (a circle), and
// each room of src/engine says in its main file's first line what lives there.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const SRC = path.resolve('src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) return sourceFiles(p)
    return p.endsWith('.ts') ? [p] : []
  })
}

/** Each file's relative imports (values and types, re-exports too), as files. */
function importGraph(files: string[]): Map<string, string[]> {
  return new Map(
    files.map(file => {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
      const local = importedFiles
        .map(i => i.fileName)
        .filter(name => name.startsWith('.'))
        .map(name => path.resolve(path.dirname(file), name.replace(/\.js$/, '.ts')))
      return [file, local]
    })
  )
}

/** Every circle found by a depth-first walk, each as `a → b → … → a`. */
function circles(graph: Map<string, string[]>): string[] {
  const found: string[] = []
  const done = new Set<string>()
  const path_: string[] = []
  const visit = (file: string) => {
    path_.push(file)
    for (const next of graph.get(file) ?? []) {
      const at = path_.indexOf(next)
      if (at >= 0) {
        found.push([...path_.slice(at), next].map(f => path.relative(SRC, f)).join(' → '))
      } else if (!done.has(next)) visit(next)
    }
    path_.pop()
    done.add(file)
  }
  for (const file of graph.keys()) if (!done.has(file)) visit(file)
  return found
}

test('no circle of imports in src/', () => {
  const graph = importGraph(sourceFiles(SRC))
  expect(graph.size).toBeGreaterThan(100)
  expect(circles(graph)).toEqual([])
})

test('the circle finder finds a circle, and none where there is none', () => {
  const a = path.join(SRC, 'a.ts')
  const b = path.join(SRC, 'b.ts')
  const c = path.join(SRC, 'c.ts')
  const graph = new Map([
    [a, [b]],
    [b, [c]],
    [c, [a]]
  ])
  expect(circles(graph)).toEqual(['a.ts → b.ts → c.ts → a.ts'])
  expect(
    circles(
      new Map([
        [a, [b]],
        [b, []]
      ])
    )
  ).toEqual([])
})

test('each room of src/engine opens its main file with what lives there', () => {
  const engine = path.join(SRC, 'engine')
  const rooms = readdirSync(engine).filter(n => statSync(path.join(engine, n)).isDirectory())
  expect(rooms.length).toBeGreaterThanOrEqual(5)
  for (const room of rooms) {
    const openings = sourceFiles(path.join(engine, room)).map(
      f => readFileSync(f, 'utf8').split('\n')[0] ?? ''
    )
    expect([room, openings.filter(l => l.startsWith(`// engine/${room}: `))]).toEqual([
      room,
      [expect.stringMatching(/^\/\/ engine\/[a-z]+: \S.+$/)]
    ])
  }
})
