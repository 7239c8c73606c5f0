// The producer of `npm run demo`'s real-time pipeline: sends FRAMES frames of 64 KiB float32
// samples through the Channel at argv[2], then end(). No polling: send() sleeps while the ring is
// full and wakes when the consumer makes room.
import { Channel } from '../dist/index.mjs'

const [path, frames] = process.argv.slice(2)
const ch = Channel.open(path)
const frame = new Float32Array(16384)
for (let f = 0; f < Number(frames); f++) {
  for (let i = 0; i < frame.length; i++) frame[i] = Math.sin((f * frame.length + i) / 1000)
  frame[0] = f // the frame number, so the consumer can check the order
  ch.send(frame)
}
ch.end()
ch.close()
