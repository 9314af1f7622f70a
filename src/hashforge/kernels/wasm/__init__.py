"""The browser miner's WebAssembly kernel: the scalar C kernels built for wasm32 (see build.py)."""
