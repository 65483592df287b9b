/* A shared library with a USDT probe, which the workload loads with dlopen() before its
 * `usdt` modes run (so `usdt:*` with -p finds probes beyond the executable):
 * scry_usdt_lib_run(n) fires scry_lib:call n times with i and -i (`8@…`, `-8@…`).
 * Built by build.rs as libscry_usdt.so.
 */
#include <stdint.h>
#include <sys/sdt.h>

uint64_t scry_usdt_lib_run(uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    DTRACE_PROBE2(scry_lib, call, i, -(int64_t)i);
    sum += i;
  }
  return sum;
}
