"""The span_qa reader: the spaCy component and its model, windows, decoding,
calibration, ONNX Runtime inference, Doc extensions, loading, and the SQuAD
metric. Nothing here imports retrieval, question answering over a knowledge
base, the CLI or the bot."""
