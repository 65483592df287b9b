//! Tracepoints: spec parsing and the `format` file layout.

/// One field of a tracepoint's context record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpField {
    /// Field name, e.g. `filename`.
    pub name: String,
    /// C type as written in the format file, e.g. `const char *`, `__data_loc char[]`.
    pub c_type: String,
    /// Byte offset in the context.
    pub offset: u32,
    /// Byte size.
    pub size: u32,
    /// Signedness flag from the format file.
    pub signed: bool,
}

/// The fields of a tracepoint (common fields excluded).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TracepointFormat {
    /// Fields in format-file order.
    pub fields: Vec<TpField>,
}
