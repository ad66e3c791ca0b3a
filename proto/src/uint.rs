//! TODO(foundation): uint
