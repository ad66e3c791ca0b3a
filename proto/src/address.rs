//! TODO(foundation): address
