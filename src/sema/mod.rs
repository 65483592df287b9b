//! Name resolution, type checking and desugaring.
