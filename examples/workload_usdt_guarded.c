/* The workload's USDT probe behind a semaphore: scry_guarded:hit fires only while a
 * tracer holds the semaphore scry_guarded_hit_semaphore above zero (the kernel counts
 * it up for every uprobe attached with its ref_ctr_offset). Its own file because
 * sys/sdt.h gives every probe of a file with _SDT_HAS_SEMAPHORES a semaphore.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdint.h>
#include <sys/sdt.h>

/* On a page of its own: at exec the kernel counts a semaphore up in the first writable
 * mapping of its file page, and the page after RELRO data is mapped twice then (the
 * RELRO copy, made read-only later by ld.so, comes first), so a semaphore sharing that
 * page would be counted in the wrong copy for a `-c` child (Linux 6.18). */
__extension__ unsigned short scry_guarded_hit_semaphore __attribute__((unused))
__attribute__((section(".probes"))) __attribute__((aligned(4096)));

/* Fires scry_guarded:hit with i when the semaphore is set; returns whether it was. */
int scry_usdt_guarded(uint64_t i) {
  if (__builtin_expect(scry_guarded_hit_semaphore, 0)) {
    DTRACE_PROBE1(scry_guarded, hit, i);
    return 1;
  }
  return 0;
}

