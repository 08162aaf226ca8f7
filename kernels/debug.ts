// Debug-only exports used by the tests: a kernel that traps on purpose in a chosen participant, so
// the pool's error path (KernelError, pool still usable afterwards) can be exercised. No math here.

/** Traps (wasm `unreachable`) in the participant whose range starts at `which`, or in all if which < 0. */
export function debug_trap(which: i32, start: i32, end: i32, scratch: usize): void {
  if (which < 0 || start == which) unreachable();
  store<i32>(scratch, end);
}
