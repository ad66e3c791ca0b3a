//! TODO(foundation): stratum
