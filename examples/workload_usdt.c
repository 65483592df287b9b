/* USDT probes of the workload (`workload usdt N`), written with systemtap's sys/sdt.h.
 *
 * scry_usdt_run(n) fires every probe below n times, in this order per iteration:
 * - scry:consts   8 constants: `8@$V -8@$V 4@$V -4@$V 2@$V -2@$V 1@$V -1@$V`
 * - scry:regs     8 registers: `8@%r12 -8@%rdi 4@%ecx -4@%r9d 2@%dx -2@%r10w 1@%sil -1@%r11b`
 * - scry:mem      8 stack slots: `8@-72(%rsp) -8@-64(%rsp) ... -1@-43(%rsp)`
 *   (each of the three holds V = 0xf7f6f5f4f3f2f1f0 cut to the argument's width:
 *   u64 17867739004052632048, i64 -579005069656919568, u32 4092785136,
 *   i32 -202182160, u16 61936, i16 -3600, u8 240, i8 -16)
 * - scry:index    `-4@-N(%rsp,%rax,4)` (the int32 -(i % 8) read through an index
 *   register), then i;
 * - scry:global   `8@scry_usdt_global(%rip)` (a global holding V), then `-4@$-7`;
 * - scry:loop     i, -i as an int32, a pointer to the string "hello usdt";
 * - scry:twice    `-4@$1`, then again at a second place `-4@$2` (one probe inlined twice);
 * - scry:float    a double in an SSE register (`8@%xmm0`, which scry cannot read), then i;
 * - scry_guarded:hit (workload_usdt_guarded.c), behind a semaphore.
 * It returns how many iterations found the semaphore set (a tracer attached to
 * scry_guarded:hit), which the workload prints.
 *
 * Built with gcc -O2 by build.rs; the argument forms above are what gcc writes for them
 * (a test checks the notes, so a compiler that writes others is noticed).
 */
#include <stdint.h>
#include <sys/sdt.h>

#define V 0xf7f6f5f4f3f2f1f0ULL

volatile uint64_t scry_usdt_global = V;

static const char greeting[] = "hello usdt";

struct all_widths {
  uint64_t u64;
  int64_t i64;
  uint32_t u32;
  int32_t i32;
  uint16_t u16;
  int16_t i16;
  uint8_t u8;
  int8_t i8;
};

int scry_usdt_guarded(uint64_t i);

__attribute__((noinline)) static void consts(void) {
  DTRACE_PROBE8(scry, consts, (uint64_t)V, (int64_t)V, (uint32_t)(V & 0xffffffff),
                (int32_t)(uint32_t)(V & 0xffffffff), (uint16_t)(V & 0xffff),
                (int16_t)(uint16_t)(V & 0xffff), (uint8_t)(V & 0xff),
                (int8_t)(uint8_t)(V & 0xff));
}

__attribute__((noinline)) static void regs(void) {
  register uint64_t a asm("r12") = V;
  register int64_t b asm("rdi") = (int64_t)V;
  register uint32_t c asm("ecx") = (uint32_t)(V & 0xffffffff);
  register int32_t d asm("r9") = (int32_t)(uint32_t)(V & 0xffffffff);
  register uint16_t e asm("dx") = (uint16_t)(V & 0xffff);
  register int16_t f asm("r10") = (int16_t)(uint16_t)(V & 0xffff);
  register uint8_t g asm("sil") = (uint8_t)(V & 0xff);
  register int8_t h asm("r11") = (int8_t)(uint8_t)(V & 0xff);
  DTRACE_PROBE8(scry, regs, a, b, c, d, e, f, g, h);
}

__attribute__((noinline)) static void mem(void) {
  volatile struct all_widths s = {
      V,
      (int64_t)V,
      (uint32_t)(V & 0xffffffff),
      (int32_t)(uint32_t)(V & 0xffffffff),
      (uint16_t)(V & 0xffff),
      (int16_t)(uint16_t)(V & 0xffff),
      (uint8_t)(V & 0xff),
      (int8_t)(uint8_t)(V & 0xff),
  };
  DTRACE_PROBE8(scry, mem, s.u64, s.i64, s.u32, s.i32, s.u16, s.i16, s.u8, s.i8);
}

__attribute__((noinline)) static void indexed(uint64_t i) {
  volatile int32_t arr[8] = {0, -1, -2, -3, -4, -5, -6, -7};
  DTRACE_PROBE2(scry, index, arr[i % 8], i);
}

/* Also read by the code, so the linker keeps it (the note names it only in text). */
__attribute__((noinline)) static uint64_t global(void) {
  DTRACE_PROBE2(scry, global, scry_usdt_global, -7);
  return scry_usdt_global;
}

__attribute__((noinline)) static void loop(uint64_t i) {
  DTRACE_PROBE3(scry, loop, i, (int32_t)-(int32_t)i, greeting);
}

__attribute__((noinline)) static void floating(double d, uint64_t i) {
  DTRACE_PROBE2(scry, float, d, i);
}

/* Read through a volatile pointer, so the compiler cannot know the address. */
int32_t *volatile scry_usdt_bad = (int32_t *)16;

__attribute__((noinline)) static void fault(void) {
  int32_t *p = scry_usdt_bad;
  DTRACE_PROBE1(scry, fault, *p);
}

static inline __attribute__((always_inline)) void twice(int x) {
  DTRACE_PROBE1(scry, twice, x);
}

volatile uint64_t scry_usdt_sink;

uint64_t scry_usdt_run(uint64_t n) {
  uint64_t enabled = 0;
  /* A probe's read of user memory cannot fault a page in: the string's page is
   * touched first, wherever the linker put it. */
  (void)*(volatile const char *)greeting;
  for (uint64_t i = 0; i < n; i++) {
    consts();
    regs();
    mem();
    indexed(i);
    scry_usdt_sink = global();
    loop(i);
    twice(1);
    twice(2);
    floating((double)i / 2, i);
    fault();
    enabled += scry_usdt_guarded(i) != 0;
  }
  return enabled;
}
