// Interop with the Python safetensors package (the reference), both ways (issue #14 item 4):
// files from safetensors.numpy.save_file open with the right dtypes, shapes, values and
// metadata; files from saveSafetensors load in safe_open with equal arrays and metadata;
// bfloat16 written in Python by the format's own rules (8-byte length, JSON, raw bytes from
// ml_dtypes) opens with the right bits and values, and Python reads ours through ml_dtypes.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { openSafetensors, saveSafetensors } from '../dist/index.mjs'
import { pythonModules, tempDir } from './helpers'

const SAFETENSORS = pythonModules(['safetensors', 'numpy', 'ml_dtypes'], 'safetensors interop tests')?.[0]

const dir = tempDir()

function python(code: string, ...args: string[]): string {
  const r = spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8', cwd: dir })
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`)
  return r.stdout
}

/** numpy dtype, canonical dtype; every dtype numpy has that safetensors stores. */
const NUMPY = [
  ['bool', 'bool'],
  ['uint8', 'uint8'],
  ['int8', 'int8'],
  ['uint16', 'uint16'],
  ['int16', 'int16'],
  ['float16', 'float16'],
  ['uint32', 'uint32'],
  ['int32', 'int32'],
  ['float32', 'float32'],
  ['uint64', 'uint64'],
  ['int64', 'int64'],
  ['float64', 'float64'],
] as const

describe.skipIf(SAFETENSORS === undefined)(`Python safetensors ${SAFETENSORS} interop`, () => {
  it('files from safetensors.numpy.save_file open with the right dtypes, shapes, values and metadata', () => {
    const p = join(dir, 'py.safetensors')
    const expected = JSON.parse(
      python(
        `
import json, sys, numpy as np
from safetensors.numpy import save_file
tensors, out = {}, {}
for dt in ${JSON.stringify(NUMPY.map(([d]) => d))}:
    a = (np.arange(12) * 37 - 100).astype(dt).reshape(3, 4)
    if dt == "bool":
        a = (np.arange(12) % 3 == 0).reshape(3, 4)
    if dt.startswith("float"):
        a = (np.arange(12) / 8 - 0.7).astype(dt).reshape(3, 4)
    tensors["t_" + dt] = a
    out["t_" + dt] = [int(x) if dt != "bool" and not dt.startswith("float") else float(x) for x in a.ravel()]
tensors["scalar"] = np.array(2.5, dtype=np.float32)
tensors["empty"] = np.zeros((0, 3), dtype=np.int32)
save_file(tensors, sys.argv[1], metadata={"format": "np", "name": "caf\\u00e9"})
print(json.dumps(out))
`,
        p,
      ),
    )
    using f = openSafetensors(p)
    expect(f.metadata).toEqual({ format: 'np', name: 'caf\u00e9' })
    for (const [np, dtype] of NUMPY) {
      const name = `t_${np}`
      expect(f.info(name)).toMatchObject({ dtype, shape: [3, 4] })
      const t = f.tensor(name)
      const got = Array.from({ length: 12 }, (_, i) => Number(t.get(Math.floor(i / 4), i % 4)))
      expect(got, name).toEqual(expected[name].map((x: number) => (np === 'bool' ? (x ? 1 : 0) : x)))
    }
    expect(f.tensor('scalar').get()).toBe(2.5)
    expect(f.tensor('empty').shape).toEqual([0, 3])
  })

  it('files from saveSafetensors load in safe_open with equal arrays and metadata', () => {
    const p = join(dir, 'ours.safetensors')
    const tensors = {
      f64: Float64Array.from([1.5, -2, 1e300]),
      f32: { dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4.5] },
      i64: new BigInt64Array([-(2n ** 62n), 5n]),
      u64: new BigUint64Array([2n ** 64n - 1n]),
      i32: Int32Array.from([-7, 8]),
      u32: Uint32Array.from([4e9]),
      i16: Int16Array.from([-300]),
      u16: Uint16Array.from([65535]),
      i8: Int8Array.from([-128, 127]),
      u8: Uint8Array.from([0, 255]),
      b: { dtype: 'bool', shape: [3], data: [true, false, true] },
      h: { dtype: 'float16', shape: [3], data: [0.5, -65504, 6e-8] },
      bf: { dtype: 'bfloat16', shape: [3], data: [1, -0.1, 3e38] },
    }
    saveSafetensors(p, tensors as never, { metadata: { format: 'pt', k: '\u{1F600}' } })
    const out = JSON.parse(
      python(
        `
import json, sys, numpy as np, ml_dtypes
from safetensors import safe_open
res = {}
with safe_open(sys.argv[1], framework="numpy") as f:
    res["__metadata__"] = f.metadata()
    for k in f.keys():
        a = f.get_tensor(k)
        if a.dtype == ml_dtypes.bfloat16:
            vals = [float(x) for x in a.astype(np.float32).ravel()]
        elif a.dtype.kind in "iub":
            vals = [str(int(x)) for x in a.ravel()]
        else:
            vals = [float(x) for x in a.ravel()]
        res[k] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": vals}
print(json.dumps(res))
`,
        p,
      ),
    )
    expect(out.__metadata__).toEqual({ format: 'pt', k: '\u{1F600}' })
    using f = openSafetensors(p)
    for (const name of f.names()) {
      const t = f.tensor(name)
      const float = t.dtype.startsWith('float') || t.dtype === 'bfloat16'
      const ours = Array.from({ length: t.size }, (_, k) => {
        const v = t.ndim === 2 ? t.get(Math.floor(k / 2), k % 2) : t.get(k)
        return float ? v : String(v)
      })
      expect(out[name].shape, name).toEqual([...t.shape])
      expect(ours, name).toEqual(out[name].values)
    }
    expect(out.bf.dtype).toBe('bfloat16')
    // What ml_dtypes rounds 1, -0.1 and 3e38 to, as bits.
    const bf16 = (bits: number) => new Float32Array(new Uint32Array([bits * 65536]).buffer)[0]
    expect(out.bf.values).toEqual([0x3f80, 0xbdcd, 0x7f62].map(bf16))
    expect(out.h.dtype).toBe('float16')
  })

  it('bfloat16 written in Python by the format rules opens with the right bits and values', () => {
    const p = join(dir, 'bf16.safetensors')
    const out = JSON.parse(
      python(
        `
import json, struct, sys, numpy as np, ml_dtypes
a = np.array([[1.0, -2.5, 3.140625], [0.0, -0.0, 1e-40]], dtype=np.float32).astype(ml_dtypes.bfloat16)
b = np.array([float("inf"), float("-inf"), float("nan")], dtype=ml_dtypes.bfloat16)
data_a, data_b = a.tobytes(), b.tobytes()
header = {"__metadata__": {"src": "ml_dtypes"},
          "a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, len(data_a)]},
          "b": {"dtype": "BF16", "shape": [3], "data_offsets": [len(data_a), len(data_a) + len(data_b)]}}
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data_a + data_b)
print(json.dumps({"a_bits": a.view(np.uint16).ravel().tolist(), "b_bits": b.view(np.uint16).ravel().tolist(),
                  "a": [float(x) for x in a.astype(np.float32).ravel()]}))
`,
        p,
      ),
    )
    using f = openSafetensors(p)
    expect(f.metadata).toEqual({ src: 'ml_dtypes' })
    const a = f.tensor('a')
    expect(a.dtype).toBe('bfloat16')
    expect([...(a.array as Uint16Array)]).toEqual(out.a_bits)
    expect(Array.from({ length: 6 }, (_, i) => a.get(Math.floor(i / 3), i % 3))).toEqual(out.a)
    const b = f.tensor('b')
    expect([...(b.array as Uint16Array)]).toEqual(out.b_bits)
    expect([b.get(0), b.get(1), b.get(2)]).toEqual([Infinity, -Infinity, NaN])
  })
})
