//! Weight files in the safetensors format (`std` feature).
