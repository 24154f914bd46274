//! Decoders: turn map snapshots into metric series.
