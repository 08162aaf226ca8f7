// The benchmarks' host description (bench/host.ts): /proc/cpuinfo parsing on canned Intel Sapphire
// Rapids, AMD EPYC Genoa and Arm excerpts (model name, signature, the reported ISA flags in order,
// first processor block only), and the fields and header line every bench row carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ISA_FLAGS, hostFields, hostLine, parseCpuInfo, wasmSimdName } from '../../bench/host.js';

const INTEL_SPR = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8488C
stepping	: 8
microcode	: 0x2b000590
cpu MHz		: 2400.000
cache size	: 107520 KB
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 wbnoinvd ida arat avx512vbmi umip pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq rdpid cldemote movdiri movdir64b md_clear serialize amx_bf16 avx512_fp16 amx_tile amx_int8 flush_l1d arch_capabilities
bogomips	: 4800.00

processor	: 1
vendor_id	: GenuineIntel
model name	: Some Other Core
flags		: fpu sse2
`;

const AMD_GENOA = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 17
model name	: AMD EPYC 9R14 96-Core Processor
stepping	: 1
microcode	: 0xa10113e
cpu MHz		: 2600.000
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch topoext perfctr_core invpcid_single ssbd perfmon_v2 ibrs ibpb stibp ibrs_enhanced vmmcall fsgsbase bmi1 avx2 smep bmi2 invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx512_bf16 clzero xsaveerptr rdpru wbnoinvd arat avx512vbmi pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid flush_l1d
bugs		: sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso
`;

const ARM_GRAVITON = `processor	: 0
BogoMIPS	: 2100.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd40
CPU revision	: 1
`;

test('parseCpuInfo: Intel Sapphire Rapids excerpt (first processor block, AMX and AVX-512 flags in ISA_FLAGS order)', () => {
  const c = parseCpuInfo(INTEL_SPR);
  assert.ok(c !== null);
  assert.equal(c.model, 'Intel(R) Xeon(R) Platinum 8488C');
  assert.equal(c.signature, 'GenuineIntel family 6 model 143 stepping 8');
  assert.deepEqual(c.flags, ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx_vnni', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8']);
});

test('parseCpuInfo: AMD EPYC Genoa excerpt (AVX-512 BF16, no AMX, no avx_vnni)', () => {
  const c = parseCpuInfo(AMD_GENOA);
  assert.ok(c !== null);
  assert.equal(c.model, 'AMD EPYC 9R14 96-Core Processor');
  assert.equal(c.signature, 'AuthenticAMD family 25 model 17 stepping 1');
  assert.deepEqual(c.flags, ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16']);
  // The two samples are told apart by model and flags.
  const intel = parseCpuInfo(INTEL_SPR);
  assert.ok(intel !== null);
  assert.notDeepEqual(c.flags, intel.flags);
  assert.ok(!c.flags.includes('amx_tile') && intel.flags.includes('amx_tile'));
});

test('parseCpuInfo: Arm excerpt (no model name: implementer:part, Features as flags, no signature)', () => {
  const c = parseCpuInfo(ARM_GRAVITON);
  assert.ok(c !== null);
  assert.equal(c.model, '0x41:0xd40');
  assert.equal(c.signature, '');
  assert.deepEqual(c.flags, ['asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve']);
});

test('parseCpuInfo: text without a model gives null; every flag it reports is one of ISA_FLAGS', () => {
  assert.equal(parseCpuInfo(''), null);
  assert.equal(parseCpuInfo('processor\t: 0\nflags\t\t: avx2\n'), null);
  for (const s of [INTEL_SPR, AMD_GENOA, ARM_GRAVITON]) for (const f of parseCpuInfo(s)?.flags ?? []) assert.ok(ISA_FLAGS.includes(f), f);
});

test('hostFields / hostLine: backend and wasm SIMD variant named in the row and the header', () => {
  const cpu = parseCpuInfo(AMD_GENOA);
  assert.ok(cpu !== null);
  assert.equal(wasmSimdName('relaxed'), 'relaxed-simd');
  assert.equal(wasmSimdName('plain'), 'simd128');
  const relaxed = hostFields(cpu, 'wasm', 'relaxed');
  assert.equal(relaxed.cpu, 'AMD EPYC 9R14 96-Core Processor');
  assert.equal(relaxed.backend, 'wasm');
  assert.equal(relaxed.wasmSimd, 'relaxed-simd');
  assert.equal(hostFields(cpu, 'wasm', 'plain').wasmSimd, 'simd128');
  const js = hostFields(cpu, 'js');
  assert.equal(js.wasmSimd, null);
  assert.ok(relaxed.logicalCpus >= 1);
  // A JSON row keeps the fields.
  const row = JSON.parse(JSON.stringify({ kind: 'x', ...relaxed })) as Record<string, unknown>;
  assert.deepEqual(row.cpuFlags, cpu.flags);
  assert.equal(row.cpuSignature, 'AuthenticAMD family 25 model 17 stepping 1');
  const line = hostLine(relaxed);
  assert.match(line, /^host: AMD EPYC 9R14 96-Core Processor \(AuthenticAMD family 25 model 17 stepping 1\), \d+ logical CPUs; ISA: sse4_2 .*avx512_bf16; backend: wasm relaxed-simd$/);
  assert.match(hostLine(js), /backend: js$/);
  assert.match(hostLine({ ...js, cpuFlags: [] }), /ISA: flags not reported;/);
});
