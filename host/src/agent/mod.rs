//! The agent: exporters, collection and serving.
