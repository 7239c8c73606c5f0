// A worker of `npm run demo`: attaches to the shared array by path and fills its own row.
import { SharedMemoryArray } from '../dist/index.mjs'

const [path, shapeJson, dtype, rowArg] = process.argv.slice(2)
const row = Number(rowArg)
const arr = SharedMemoryArray.open(path, { shape: JSON.parse(shapeJson), dtype })
const cols = arr.shape[1]
const mine = arr.slice(row, row + 1) // zero-copy view of this worker's row
for (let j = 0; j < cols; j++) mine[j] = Math.sqrt(row * cols + j)
arr.close()
process.send({ row, pid: process.pid })
