"""The span_qa reader: the spaCy component and what it is made of.

    component     the factory and the `SpanQA` pipe (training, scoring, runtimes)
    reading       answering (context, question) pairs from start/end logits: shared by the pipe and FastReader
    model         the HF QA transformer wrapped as a Thinc model (registered architecture)
    windows       question+context pairs cut into model-sized windows
    decoding      start/end logits -> best spans (`SpanCandidate`) and their scores
    calibration   fitting the score, the no-answer threshold, reliability tables
    onnx_reader   CPU inference with ONNX Runtime (float32 or int8)
    onnx_cache    a saved reader's ONNX copy, exported once into a cache folder
    fast_reader   `FastReader`: a saved reader on ONNX Runtime without torch (what `spanqa ask` runs)
    extensions    the Doc extensions (`doc._.qa_questions`, `qa_answers`, `ask`)
    loading       `load_reader`: a saved pipeline, a package or an HF checkpoint
    corpus        the spaCy corpus reader of SQuAD files (`spacy train`)
    scorer        the registered SQuAD EM/F1 scorer

Nothing here imports retrieval, `qa.py`, the CLI or the bot.
"""
