// Type-level tests of "types follow the dtype" (API.md): compiled by __test__/types.test.ts with
// `tsc --strict --noEmit` against the built declarations. A wrong type is a compile error here.
import {
  createSharedBuffer,
  loadBinary,
  MmapArray,
  openNpy,
  SharedMemoryArray,
  type ArrayChunk,
  type ArrayOf,
  type DType,
  type DTypeOf,
  type ValueOf,
} from '../../dist/index.mjs'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(): T => true as T

// Canonical names, numpy spellings and constructors all fix the dtype.
expectType<Equal<DTypeOf<'float32'>, 'float32'>>()
expectType<Equal<DTypeOf<'f4'>, 'float32'>>()
expectType<Equal<DTypeOf<'<i8'>, 'int64'>>()
expectType<Equal<DTypeOf<'|u1'>, 'uint8'>>()
expectType<Equal<DTypeOf<'?'>, 'bool'>>()
expectType<Equal<DTypeOf<typeof Float64Array>, 'float64'>>()
expectType<Equal<DTypeOf<typeof BigUint64Array>, 'uint64'>>()
expectType<Equal<DTypeOf<string>, DType>>()

declare const p: string

const f4 = MmapArray.create(p, { shape: [3], dtype: 'f4' })
expectType<Equal<typeof f4.array, Float32Array>>()
expectType<Equal<typeof f4.dtype, 'float32'>>()
f4.array.fill(1) // the README's Quick start: error TS2345 when .array was the union
const x: number = f4.get(0)
const s1: number = f4.sum()

const i8 = MmapArray.open(p, { dtype: BigInt64Array })
expectType<Equal<typeof i8.array, BigInt64Array>>()
const big: bigint = i8.get(0)
const bigSum: bigint = i8.sum()
const bigMax: bigint = i8.max()
const mean: number = i8.mean()
// @ts-expect-error a 64-bit integer element is a bigint, not a number
const wrong: number = i8.get(0)

const dflt = MmapArray.create(p, { shape: 4 })
expectType<Equal<typeof dflt.array, Float64Array>>()
const opened = MmapArray.open(p)
expectType<Equal<typeof opened.array, Float64Array>>()

const u16 = MmapArray.fromArray(p, Uint16Array.of(1, 2))
expectType<Equal<typeof u16.dtype, 'uint16'>>()
const fromNumbers = MmapArray.fromArray(p, [
  [1, 2],
  [3, 4],
])
expectType<Equal<typeof fromNumbers.dtype, 'float64'>>()
const fromBigints = MmapArray.fromArray(p, [1n, 2n])
expectType<Equal<typeof fromBigints.dtype, 'int64'>>()
const fromBools = MmapArray.fromArray(p, [true, false])
expectType<Equal<typeof fromBools.dtype, 'bool'>>()
const converted = MmapArray.fromArray(p, [1, 2], { dtype: 'i2' })
expectType<Equal<typeof converted.array, Int16Array>>()
const copied = MmapArray.fromArray(p, f4)
expectType<Equal<typeof copied.dtype, 'float32'>>()

const shared = SharedMemoryArray.create({ shape: [2, 2], dtype: 'int32' })
expectType<Equal<typeof shared.array, Int32Array>>()
expectType<Equal<ReturnType<typeof shared.slice>, Int32Array>>()
const attached = SharedMemoryArray.open(shared.path, { dtype: Int32Array })
expectType<Equal<typeof attached.dtype, 'int32'>>()

const anon = createSharedBuffer('uint64', 8)
expectType<Equal<typeof anon.array, BigUint64Array>>()
const raw = loadBinary(p, { dtype: '<f4' })
expectType<Equal<typeof raw.array, Float32Array>>()
const npy = openNpy(p)
expectType<Equal<typeof npy.dtype, DType>>()
const asserted = openNpy<'float32'>(p)
expectType<Equal<typeof asserted.array, Float32Array>>()

for (const chunk of f4.chunks()) {
  expectType<Equal<typeof chunk, ArrayChunk<'float32'>>>()
  chunk.data.fill(0)
}

// float16 and bfloat16. These libs (ES2022) have no Float16Array type: a float16 array's view
// is a Uint16Array to the type checker here (float16-types.ts checks it with ESNext.Float16).
expectType<Equal<DTypeOf<'f2'>, 'float16'>>()
expectType<Equal<DTypeOf<'<f2'>, 'float16'>>()
expectType<Equal<DTypeOf<'e'>, 'float16'>>()
expectType<Equal<DTypeOf<'half'>, 'float16'>>()
expectType<Equal<DTypeOf<'float16'>, 'float16'>>()
expectType<Equal<DTypeOf<'bf16'>, 'bfloat16'>>()
expectType<Equal<DTypeOf<'bfloat16'>, 'bfloat16'>>()
expectType<Equal<DTypeOf<typeof Uint16Array>, 'uint16'>>()
expectType<Equal<ArrayOf<'float16'>, Uint16Array>>()
expectType<Equal<ArrayOf<'bfloat16'>, Uint16Array>>()
expectType<Equal<ValueOf<'float16'>, number>>()
expectType<Equal<ValueOf<'bfloat16'>, number>>()
const f2 = MmapArray.create(p, { shape: [2], dtype: 'f2' })
expectType<Equal<typeof f2.dtype, 'float16'>>()
expectType<Equal<typeof f2.array, Uint16Array>>()
f2.array.fill(0)
const h: number = f2.get(0)
const hSum: number = f2.sum()
const bf = loadBinary(p, { dtype: 'bf16' })
expectType<Equal<typeof bf.dtype, 'bfloat16'>>()
expectType<Equal<typeof bf.array, Uint16Array>>()
const bfMax: number = bf.max()
// @ts-expect-error a bfloat16 element is a number
const bfWrong: bigint = bf.get(0)
const bfShared = createSharedBuffer('bfloat16', 4)
expectType<Equal<typeof bfShared.array, Uint16Array>>()
const halfShared = SharedMemoryArray.create({ shape: [2], dtype: 'half' })
expectType<Equal<typeof halfShared.dtype, 'float16'>>()
const fromBits = MmapArray.fromArray(p, Uint16Array.of(1, 2), { dtype: 'float16' })
expectType<Equal<typeof fromBits.dtype, 'float16'>>()
const fromHalf = MmapArray.fromArray(p, bf)
expectType<Equal<typeof fromHalf.dtype, 'bfloat16'>>()

// Known only at run time: the union, as before.
declare const runtime: string
const dyn = MmapArray.open(p, { dtype: runtime })
expectType<Equal<typeof dyn.dtype, DType>>()
const v: number | bigint = dyn.get(0)

export { x, s1, big, bigSum, bigMax, mean, wrong, v, h, hSum, bfMax, bfWrong }
