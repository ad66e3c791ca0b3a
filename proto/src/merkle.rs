//! TODO(foundation): merkle
