// What a benchmark ran on, for its table header and every --json row: the CPU model (/proc/cpuinfo
// "model name", else os.cpus()), its vendor/family/model signature (VMs often report a generic
// model name), the host's SIMD-relevant ISA flags, and the backend with its wasm SIMD variant, so
// figures from different machines (an Intel SPR with AMX, an AMD EPYC with AVX-512 BF16) are told
// apart. Only the parsing is pure; reading the host happens in readCpuInfo.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { SimdVariant } from '../src/engine/backends/wasm/index.js';

/** Host ISA flags worth reporting, in this order (x86 /proc/cpuinfo "flags", Arm "Features"). */
export const ISA_FLAGS: readonly string[] = [
  'sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx_vnni',
  'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16',
  'amx_tile', 'amx_bf16', 'amx_int8',
  'asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2',
];

export interface CpuInfo {
  /** Marketing name, e.g. "AMD EPYC 9R14 96-Core Processor". */
  model: string;
  /** "vendor family F model M stepping S" where the OS reports them, else "". */
  signature: string;
  /** The ISA_FLAGS the CPU has, in ISA_FLAGS order; empty when the OS does not list flags. */
  flags: string[];
}

/** The fields every benchmark row carries (added to the row; no existing field is replaced). */
export interface HostFields {
  cpu: string;
  cpuSignature: string;
  cpuFlags: string[];
  logicalCpus: number;
  /** 'wasm' or 'js' (plain TypeScript, no kernels). */
  backend: string;
  /** The wasm SIMD build in use: 'relaxed-simd' or 'simd128'; null for the js backend. */
  wasmSimd: 'relaxed-simd' | 'simd128' | null;
}

/**
 * Parses /proc/cpuinfo text: the first processor's model name (x86 "model name", else Arm
 * "Hardware", else "CPU implementer:CPU part"), signature and flags. Null when it names no model.
 */
export function parseCpuInfo(text: string): CpuInfo | null {
  // The first occurrence of each key: processor 0's block (Arm's "Hardware" comes after all blocks).
  const field = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    if (!field.has(key)) field.set(key, line.slice(i + 1).trim());
  }
  const model = field.get('model name') || field.get('hardware') || (field.has('cpu part') ? `${field.get('cpu implementer') ?? '?'}:${field.get('cpu part')}` : '');
  if (!model) return null;
  const vendor = field.get('vendor_id') ?? '';
  const sig = [vendor];
  for (const [key, label] of [['cpu family', 'family'], ['model', 'model'], ['stepping', 'stepping']]) {
    const v = field.get(key);
    if (v !== undefined) sig.push(`${label} ${v}`);
  }
  const have = new Set((field.get('flags') ?? field.get('features') ?? '').split(/\s+/));
  return { model: model.replace(/\s+/g, ' '), signature: vendor === '' ? '' : sig.join(' '), flags: ISA_FLAGS.filter((f) => have.has(f)) };
}

/** This host's CPU: /proc/cpuinfo where readable, else os.cpus() (no signature, no flags). */
export function readCpuInfo(): CpuInfo {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: fall through to os.cpus()
  }
  return parseCpuInfo(text) ?? { model: cpus()[0]?.model.trim() || 'unknown CPU', signature: '', flags: [] };
}

export function wasmSimdName(simd: SimdVariant): 'relaxed-simd' | 'simd128' {
  return simd === 'relaxed' ? 'relaxed-simd' : 'simd128';
}

/** Row fields for a run on `backend` ('wasm' with its SIMD variant, or 'js'). */
export function hostFields(cpu: CpuInfo, backend: 'wasm' | 'js', simd: SimdVariant | null = null): HostFields {
  return {
    cpu: cpu.model,
    cpuSignature: cpu.signature,
    cpuFlags: cpu.flags,
    logicalCpus: availableParallelism(),
    backend,
    wasmSimd: backend === 'wasm' && simd !== null ? wasmSimdName(simd) : null,
  };
}

/** One header line for a human table: "host: <cpu> (<signature>), N logical CPUs; <flags>; backend ...". */
export function hostLine(h: HostFields): string {
  const sig = h.cpuSignature === '' ? '' : ` (${h.cpuSignature})`;
  const flags = h.cpuFlags.length > 0 ? h.cpuFlags.join(' ') : 'flags not reported';
  const be = h.wasmSimd === null ? h.backend : `${h.backend} ${h.wasmSimd}`;
  return `host: ${h.cpu}${sig}, ${h.logicalCpus} logical CPUs; ISA: ${flags}; backend: ${be}`;
}
