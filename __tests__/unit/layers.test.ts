import { createHash } from 'node:crypto'
import { chainIds, chainsOf, heldLowerLayers, layerFilesToSkip } from '../../src/plan/layers.js'

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`
const [A, B, C] = [sha('a'), sha('b'), sha('c')]

describe('chain IDs', () => {
  test('the first is the diff ID, each next one hashes "<parent chain> <diff ID>"', () => {
    const ab = sha(`${A} ${B}`)
    expect(chainIds([A, B, C])).toEqual([A, ab, sha(`${ab} ${C}`)])
    expect(chainIds([])).toEqual([])
  })

  test('the same layer on another parent is another chain', () => {
    expect(chainIds([B, A])[1]).not.toBe(chainIds([A, B])[1])
    expect(chainsOf([[A, B], [A]])).toEqual(new Set([A, sha(`${A} ${B}`)]))
  })
})

describe('layerFilesToSkip', () => {
  const image = { layers: ['1/layer.tar', '2/layer.tar', '3/layer.tar'], diffIds: [A, B, C] }

  test('leaves out the files of layers whose chain the server holds', () => {
    expect(layerFilesToSkip([image], chainsOf([[A, B]]))).toEqual(['1/layer.tar', '2/layer.tar'])
    expect(layerFilesToSkip([image], chainsOf([[A, B, C]]))).toHaveLength(3)
  })

  test('a diff ID the server has on another parent is not enough', () => {
    expect(layerFilesToSkip([image], chainsOf([[B], [C]]))).toEqual([])
    expect(layerFilesToSkip([image], chainsOf([[A], [B, C]]))).toEqual(['1/layer.tar'])
  })

  test('a file one image needs is kept even when another image could skip it (OCI blobs are shared)', () => {
    const blob = (d: string) => `blobs/sha256/${d.slice(7)}`
    const first = { layers: [blob(A), blob(B)], diffIds: [A, B] }
    const second = { layers: [blob(C), blob(B)], diffIds: [C, B] }
    expect(layerFilesToSkip([first, second], chainsOf([[A, B]]))).toEqual([blob(A)])
  })

  test('an image whose manifest and config disagree keeps every file', () => {
    expect(
      layerFilesToSkip([{ layers: image.layers, diffIds: [A, B] }], chainsOf([[A, B, C]]))
    ).toEqual([])
  })
})

describe('heldLowerLayers', () => {
  const D = sha('d')
  const held = (...images: string[][]) => chainsOf(images)

  test('every layer but the tops held: the lower diff IDs', () => {
    expect(heldLowerLayers([{ diffIds: [A, B, C] }], held([A, B]))).toEqual(new Set([A, B]))
    // Two services on one base, each with its own new top.
    expect(heldLowerLayers([{ diffIds: [A, C] }, { diffIds: [A, D] }], held([A]))).toEqual(
      new Set([A])
    )
  })

  test('anything else is left to the manifest: undefined', () => {
    // A new layer below the top.
    expect(heldLowerLayers([{ diffIds: [A, B, C] }], held([A]))).toBeUndefined()
    // A whole image held (only another service changed).
    expect(
      heldLowerLayers([{ diffIds: [A, B] }, { diffIds: [A, C] }], held([A, B]))
    ).toBeUndefined()
    // Nothing held, a one-layer image, an image without layers.
    expect(heldLowerLayers([{ diffIds: [A, B] }], new Set())).toBeUndefined()
    expect(heldLowerLayers([{ diffIds: [A] }], new Set())).toBeUndefined()
    expect(heldLowerLayers([{ diffIds: [] }], held([A]))).toBeUndefined()
    // The same diff ID at another place is another chain: not held.
    expect(heldLowerLayers([{ diffIds: [B, A, C] }], held([A, B]))).toBeUndefined()
  })

  test('a layer that is one image top and another image lower layer is sent', () => {
    // Image 2 is image 1 plus a layer: B is the top of image 1 and a lower layer of image 2.
    // Image 1's top chain [A, B] is held by then, so the rule does not apply at all.
    expect(
      heldLowerLayers([{ diffIds: [A, B] }, { diffIds: [A, B, C] }], held([A]))
    ).toBeUndefined()
    // The same diff ID as a top of one image and a lower layer of another (different chains).
    expect(heldLowerLayers([{ diffIds: [A, B] }, { diffIds: [B, C] }], held([A], [B]))).toEqual(
      new Set([A])
    )
  })
})
