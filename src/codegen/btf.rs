//! Minimal BTF writer for BTF-defined maps and program functions.
