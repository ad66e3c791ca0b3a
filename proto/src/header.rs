//! TODO(foundation): header
