//! Disassembler in the kernel verifier's syntax (`r1 = *(u64 *)(r10 -8)`).
