//! TODO(foundation): amount
