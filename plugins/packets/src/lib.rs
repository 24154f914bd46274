//! packets decoder.
