// The consumer of `npm run demo`'s real-time pipeline: reads frames from the Channel at argv[2]
// until the producer's end(), in place (each frame is a view into the shared ring, no copy), and
// reports how many arrived, in order, and their energy.
import { Channel } from '../dist/index.mjs'

const ch = Channel.open(process.argv[2])
let frames = 0
let inOrder = true
let energy = 0
for await (const bytes of ch) {
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  if (samples[0] !== frames) inOrder = false
  for (let i = 1; i < samples.length; i++) energy += samples[i] * samples[i]
  frames++
}
ch.close()
process.send({ frames, inOrder, energy })
