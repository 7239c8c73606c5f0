// The suite must leave nothing behind in shared memory: compare the region names before and after.
import { readdirSync } from 'node:fs'

const DIR = '/dev/shm'
const regions = () => {
  try {
    return new Set(readdirSync(DIR).filter((n) => n.startsWith('memmap-')))
  } catch {
    return new Set<string>()
  }
}

export default function setup() {
  const before = regions()
  return () => {
    const left = [...regions()].filter((n) => !before.has(n))
    if (left.length > 0)
      throw new Error(`the test suite left shared-memory regions behind in ${DIR}: ${left.join(', ')}`)
  }
}
