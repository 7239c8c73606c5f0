// "Types follow the dtype" for float16 where the TypeScript libs declare Float16Array
// (ESNext.Float16, TypeScript 5.9+): compiled by __test__/types.test.ts with tsconfig.float16.json.
// A float16 array's `.array` is a Float16Array on Node >= 24 and a Uint16Array of raw bits on
// older Node, so its type is both; `DTypeOf<typeof Float16Array>` is 'float16'.
import {
  MmapArray,
  saveNpy,
  SharedMemoryArray,
  type ArrayOf,
  type DTypeOf,
  type TypedArray,
} from '../../dist/index.mjs'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(): T => true as T

declare const p: string

expectType<Equal<DTypeOf<typeof Float16Array>, 'float16'>>()
expectType<Equal<DTypeOf<typeof Uint16Array>, 'uint16'>>()
expectType<Equal<DTypeOf<'f2'>, 'float16'>>()
expectType<Equal<ArrayOf<'float16'>, Float16Array | Uint16Array>>()
expectType<Equal<ArrayOf<'bfloat16'>, Uint16Array>>()

const f2 = MmapArray.create(p, { shape: [4], dtype: Float16Array })
expectType<Equal<typeof f2.dtype, 'float16'>>()
expectType<Equal<typeof f2.array, Float16Array | Uint16Array>>()
f2.array.fill(1) // both views take a number
const view = f2.array
// The honest type makes the reader check which view this runtime gave.
const first: number = view instanceof Uint16Array ? f2.get(0) : view[0]

const fromValues = MmapArray.fromArray(p, new Float16Array([1, 2]))
expectType<Equal<typeof fromValues.dtype, 'float16'>>()
const shared = SharedMemoryArray.create({ shape: [2], dtype: 'float16' })
expectType<Equal<typeof shared.array, Float16Array | Uint16Array>>()
const anyArray: TypedArray = new Float16Array(2)
saveNpy(p, new Float16Array(2))
// bfloat16 is raw bits on every runtime.
const bf = MmapArray.open(p, { dtype: 'bfloat16' })
expectType<Equal<typeof bf.array, Uint16Array>>()

export { first, anyArray }
