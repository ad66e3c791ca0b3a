//! TODO(foundation): target
