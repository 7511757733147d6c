"""What the service runs, and all it runs: the Bento ships this subpackage with the few flat modules it imports.

- `tokenizer`: tweets to token ids with the `tokenizers` library alone (no torch), and token counts.
- `runtimes`: the inference engines a serving directory names (OpenVINO, ONNX Runtime, TorchScript).
- `predictor`: `Predictor`, the one prediction path (the service, `evaluate`, `optimize` and the drift features).
- `requests`: what a request may hold, and how requests are batched.
- `prometheus`: the monitoring series on `/metrics`.
- `http`: the HTTP edge: the body limit, one error shape, client errors logged as one line.
- `querylog`: one JSON line per prediction and per feedback, and stateless request ids.
"""
