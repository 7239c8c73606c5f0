// Puts into node_modules the platform packages of the dev tools vitest loads (rolldown's and
// lightningcss's native bindings) for another platform, at the versions in package-lock.json, so
// that the test suite starts under that platform's node (node.exe under Wine, arm64 node under
// qemu). npm installs only this machine's; `xplat npm-pkg` unpacks the others from the registry.
//
//   node scripts/dev-platform-packages.mjs <os> <cpu> [libc]     e.g. win32 x64, linux arm64 glibc
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [os, cpu, libc] = process.argv.slice(2)
if (!os || !cpu) throw new Error('usage: dev-platform-packages.mjs <os> <cpu> [libc]')
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const xplat = process.env.XPLAT ?? join(root, '..', 'shared', 'platforms', 'xplat')
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages

/** Where Node would find `name` from the package at `from` (both lock keys). */
function resolve(from, name) {
  for (let at = from; ;) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`
    if (lock[key]) return key
    if (!at) return undefined
    const i = at.lastIndexOf('/node_modules/')
    at = i < 0 ? '' : at.slice(0, i)
  }
}

const seen = new Set()
const found = new Map()
function walk(key) {
  if (seen.has(key)) return
  seen.add(key)
  const p = lock[key]
  for (const name of Object.keys({ ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies })) {
    const dep = resolve(key, name)
    if (!dep) continue
    const d = lock[dep]
    if (d.os || d.cpu) {
      // A platform package: take the one for the target, walk none.
      const fits = d.os?.includes(os) && (!d.cpu || d.cpu.includes(cpu)) && (libc ? d.libc?.includes(libc) : !d.libc)
      if (fits) found.set(dep, d.version)
      continue
    }
    walk(dep)
  }
}
walk('node_modules/vitest')

for (const [key, version] of found) {
  const spec = `${key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${version}`
  const dir = execFileSync(xplat, ['npm-pkg', spec], { encoding: 'utf8' }).trim()
  const dest = join(root, key)
  const same =
    existsSync(join(dest, 'package.json')) &&
    readFileSync(join(dest, 'package.json'), 'utf8') === readFileSync(join(dir, 'package.json'), 'utf8')
  if (!same) {
    rmSync(dest, { recursive: true, force: true })
    mkdirSync(dirname(dest), { recursive: true })
    cpSync(dir, dest, { recursive: true })
  }
  console.log(`${spec} -> ${key}`)
}
if (found.size === 0) throw new Error(`no ${os}-${cpu} packages found for vitest's tools in package-lock.json`)
