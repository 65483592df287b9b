//! Loads the object, attaches probes, streams events, prints maps. The only place that
//! touches the kernel.
