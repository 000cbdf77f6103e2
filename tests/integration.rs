//! Integration tests, one module per topic under tests/integration/.

#[path = "integration/decode_corpora.rs"]
mod decode_corpora;
