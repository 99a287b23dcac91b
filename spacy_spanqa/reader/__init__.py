"""The span_qa reader: the spaCy component and what it is made of.

    component     the factory and the `SpanQA` pipe (answering, training, scoring)
    model         the HF QA transformer wrapped as a Thinc model (registered architecture)
    windows       question+context pairs cut into model-sized windows
    decoding      start/end logits -> best spans (`SpanCandidate`) and their scores
    calibration   fitting the score, the no-answer threshold, reliability tables
    onnx_reader   CPU inference with ONNX Runtime (float32 or int8)
    extensions    the Doc extensions (`doc._.qa_questions`, `qa_answers`, `ask`)
    loading       `load_reader`: a saved pipeline, a package or an HF checkpoint
    corpus        the spaCy corpus reader of SQuAD files (`spacy train`)
    scorer        the registered SQuAD EM/F1 scorer

Nothing here imports retrieval, `qa.py`, the CLI or the bot.
"""
