//! printf-style format strings: parsing (for sema's checks) and rendering (for the runtime).
