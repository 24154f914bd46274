//! Loading eBPF ELF objects with aya and attaching their programs.
//!
//! (Skeleton: loading and attaching land with the loader work.)
