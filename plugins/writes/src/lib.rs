//! writes decoder.
