#!/usr/bin/env node
// Builds the AssemblyScript kernels (kernels/index.ts) twice with the project's asc:
// build/kernels/simd.wasm (plain SIMD128, fma4 = mul + add) and build/kernels/relaxed.wasm
// (relaxed SIMD, fma4 = f32x4.relaxed_madd). Both import one shared memory (env.memory, up to 4 GiB).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const outDir = join(root, 'build', 'kernels');
mkdirSync(outDir, { recursive: true });

const common = [
  join(root, 'kernels', 'index.ts'),
  '--runtime', 'stub',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory', '1',
  '--maximumMemory', '65536',
  '--noExportMemory',
  '-O3',
  '--noAssert',
  '--use', 'abort=',
];

const variants = [
  { file: 'simd.wasm', features: 'simd,threads' },
  { file: 'relaxed.wasm', features: 'simd,threads,relaxed-simd' },
];

for (const v of variants) {
  const out = join(outDir, v.file);
  execFileSync(process.execPath, [asc, ...common, '--enable', v.features, '-o', out], { stdio: 'inherit', cwd: root });
  console.log(`build-kernels: ${v.file} (${v.features})`);
}
