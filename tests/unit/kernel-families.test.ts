// The kernel-family layout: for every kernel, the ref file named after its family (KERNEL_FAMILY)
// implements it and the ref table uses that implementation; every native wasm kernel has its wrapper
// in backends/wasm/kernels/<family>.ts, and every wasm export that wrapper runs is defined in
// kernels/<family>.ts (AssemblyScript). Reads the sources for the last check; runs no kernel.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { refKernels } from '../../src/engine/backends/ref/index.js';
import { buildKernels } from '../../src/engine/backends/wasm/kernels/index.js';
import type { NativeContext } from '../../src/engine/backends/wasm/kernels/context.js';
import { KERNEL_FAMILY, type KernelFamily, type KernelName } from '../../src/engine/kernels.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const kernelNames = Object.keys(refKernels) as KernelName[];
const families = [...new Set(Object.values(KERNEL_FAMILY))] as KernelFamily[];

test('KERNEL_FAMILY names every kernel of the ref table, and nothing else', () => {
  assert.deepEqual(Object.keys(KERNEL_FAMILY).sort(), [...kernelNames].sort());
});

test('each ref family file implements exactly the kernels of its family, and the ref table uses them', async () => {
  for (const family of families) {
    const mod = (await import(`../../src/engine/backends/ref/${family}.js`)) as Record<string, Record<string, unknown>>;
    const slice = mod[`${family}Kernels`];
    assert.ok(slice !== undefined, `ref/${family}.ts exports no ${family}Kernels`);
    const expected = kernelNames.filter((k) => KERNEL_FAMILY[k] === family).sort();
    assert.deepEqual(Object.keys(slice).sort(), expected, `ref/${family}.ts`);
    for (const k of expected) {
      assert.equal(typeof slice[k], 'function', `ref/${family}.ts: ${k}`);
      assert.equal(refKernels[k], slice[k], `refKernels.${k} is not the one in ref/${family}.ts`);
    }
  }
});

test('every native wasm kernel has its wrapper in wasm/kernels/<family>.ts over exports of kernels/<family>.ts', async () => {
  // Building the table calls no kernel, so a context without pool or heap is enough here.
  const { native } = buildKernels({ ref: refKernels } as unknown as NativeContext);
  assert.ok(native.size > 0);
  for (const k of native) {
    const family = KERNEL_FAMILY[k];
    const mod = (await import(`../../src/engine/backends/wasm/kernels/${family}.js`)) as Record<string, unknown>;
    assert.equal(typeof mod[k], 'function', `wasm/kernels/${family}.ts has no wrapper ${k}`);
  }
  for (const family of families) {
    const wrapper = readFileSync(`${root}src/engine/backends/wasm/kernels/${family}.ts`, 'utf8');
    const runs = [...wrapper.matchAll(/pool\.run\(\s*'[^']*',\s*'([a-z0-9_]+)'/g)].map((m) => m[1]);
    assert.ok(runs.length > 0, `wasm/kernels/${family}.ts runs no export`);
    const as = readFileSync(`${root}kernels/${family}.ts`, 'utf8');
    for (const name of runs) {
      assert.match(as, new RegExp(`^export function ${name}\\(`, 'm'), `kernels/${family}.ts does not define ${name} (run by wasm/kernels/${family}.ts)`);
    }
  }
});
