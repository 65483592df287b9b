//! Tokens (logos), with modal lexing: probe headers vs. expression/body text.
