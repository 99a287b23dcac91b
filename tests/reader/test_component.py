"""The span_qa component as a spaCy user meets it."""
import json
import subprocess
import sys

import numpy
import pytest
import spacy
from spacy import displacy

from tests.tiny_models import make_nlp

TEXT = "Barack Obama was born in Hawaii on August 4, 1961. He was president."


def test_add_pipe_works_from_entry_points_without_importing_the_package():
    code = (
        "import spacy, sys; nlp = spacy.blank('en'); nlp.add_pipe('span_qa');"
        "assert 'spacy_spanqa' in sys.modules; print(nlp.pipe_names)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "span_qa" in out.stdout


def test_ask_returns_a_verbatim_span_aligned_to_tokens(tiny_nlp):
    tiny_nlp.get_pipe("span_qa").cfg["no_answer_threshold"] = 0.0
    doc = tiny_nlp(TEXT)
    answer = doc._.ask("Where was Barack Obama born?")
    assert not answer.no_answer
    assert answer.text == TEXT[answer.start_char : answer.end_char]
    assert answer.text.strip() == answer.text and answer.text
    assert answer.span.doc is doc
    assert answer.span.start_char <= answer.start_char < answer.end_char <= answer.span.end_char
    assert 0.0 < answer.score < 1.0


def test_threshold_turns_low_scores_into_no_answer(tiny_nlp):
    tiny_nlp.get_pipe("span_qa").cfg["no_answer_threshold"] = 1.0
    doc = tiny_nlp.make_doc(TEXT)
    doc._.qa_questions = ["Who?", "When?"]
    doc = tiny_nlp(doc)
    assert [a.no_answer for a in doc._.qa_answers] == [True, True]
    assert all(a.text == "" and a.span is None for a in doc._.qa_answers)
    assert len(doc.spans["qa"]) == 0


def test_questions_on_docs_get_answers_and_spans_with_nlp_pipe(tiny_model_dir):
    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0, spans_key="answers")
    docs = []
    for i in range(3):
        doc = nlp.make_doc(TEXT * (i + 1))
        doc._.qa_questions = [{"id": f"{i}-a", "question": "Who was born?"}, "When?"]
        docs.append(doc)
    out = list(nlp.pipe(docs, batch_size=2))
    for i, doc in enumerate(out):
        assert [a.question_id for a in doc._.qa_answers] == [f"{i}-a", "1"]
        spans = doc.spans["answers"]
        assert [s.label_ for s in spans] == ["Who was born?", "When?"]
        for a in doc._.qa_answers:
            assert a.text == doc.text[a.start_char : a.end_char]
    html = displacy.render(out[0], style="span", options={"spans_key": "answers"})
    assert "Who was born?" in html


def test_answers_match_single_asks(tiny_model_dir):
    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0, batch_size=3)
    doc = nlp.make_doc(TEXT * 3)
    doc._.qa_questions = ["Who?", "Where was he born?", "When?"]
    doc = nlp(doc)
    for answer in doc._.qa_answers:
        single = nlp.make_doc(TEXT * 3)._.ask(answer.question)
        assert (single.start_char, single.end_char) == (answer.start_char, answer.end_char)
        assert single.score == pytest.approx(answer.score, abs=1e-4)


def test_empty_question_is_a_clear_error_and_empty_doc_has_no_answer(tiny_nlp):
    with pytest.raises(ValueError, match="Empty question"):
        tiny_nlp(TEXT)._.ask("   ")
    answer = tiny_nlp("")._.ask("Who?")
    assert answer.no_answer and answer.span is None


def test_unknown_model_is_one_clear_error(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("span_qa", config={"model": {"name": str(tmp_path / "no-such-model")}})
    with pytest.raises(ValueError, match="Could not load the QA model"):
        nlp.initialize()


def test_ask_without_component_explains(tiny_nlp):
    other = spacy.blank("de")
    with pytest.raises(ValueError, match="span_qa component"):
        other("Hallo Welt")._.ask("Was?")


def test_to_disk_and_load_in_a_fresh_process_give_identical_answers(tiny_model_dir, tmp_path):
    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    questions = ["Who was born?", "Where?", "When was it?"]
    expected = [nlp(TEXT * 2)._.ask(q).to_dict() for q in questions]
    nlp.to_disk(tmp_path / "pipeline")
    code = (
        "import json, sys, spacy; nlp = spacy.load(sys.argv[1]);"
        f"print(json.dumps([nlp({TEXT * 2!r})._.ask(q).to_dict() for q in {questions!r}]))"
    )
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline")],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


def test_float16_weights_halve_the_size_and_keep_answers(tiny_model_dir, tmp_path):
    nlp32 = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    nlp16 = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    nlp16.get_pipe("span_qa").model.shims[0].weights_dtype = "float16"
    nlp32.to_disk(tmp_path / "f32")
    nlp16.to_disk(tmp_path / "f16")
    size32 = (tmp_path / "f32" / "span_qa" / "model").stat().st_size
    size16 = (tmp_path / "f16" / "span_qa" / "model").stat().st_size
    assert size16 < 0.6 * size32
    loaded = spacy.load(tmp_path / "f16")
    a = nlp32(TEXT)._.ask("Where was he born?")
    b = loaded(TEXT)._.ask("Where was he born?")
    assert (a.start_char, a.end_char) == (b.start_char, b.end_char)
    assert a.score == pytest.approx(b.score, abs=0.02)


def test_int8_reader_tracks_float32_logits_and_answers_from_the_context(tiny_model_dir):
    from spacy_spanqa.reader.windows import length_sorted_batches, pad_batch

    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    reader = nlp.get_pipe("span_qa")
    contexts = [TEXT, TEXT * 3, "Short one."]
    questions = ["Where was he born?", "When was he born?", "What is it?"]
    windows = reader._encode(questions, contexts)
    batches = [pad_batch(windows, idx, 0) for idx in length_sorted_batches(windows, 2)]
    fp32 = [reader._logits(b) for b in batches]
    answers32 = reader.answer_pairs(list(zip(contexts, questions)))

    reader.use_runtime("int8")
    int8 = [reader._logits(b) for b in batches]
    quantized = {"DynamicQuantizeMatMul", "MatMulInteger", "QAttention"}
    assert sum(n for op, n in reader._onnx["int8"].op_types.items() if op in quantized) >= 4
    for (s32, e32), (s8, e8) in zip(fp32, int8):
        assert s8.shape == s32.shape and e8.shape == e32.shape
        spread = float(numpy.ptp(s32)) + 1e-6
        assert numpy.abs(s8 - s32).max() < 0.1 * spread
        assert numpy.abs(e8 - e32).max() < 0.1 * (float(numpy.ptp(e32)) + 1e-6)
    answers8 = reader.answer_pairs(list(zip(contexts, questions)))
    for a, context in zip(answers8, contexts):
        assert a.no_answer or a.text == context[a.start_char : a.end_char]
    assert [a.score for a in answers8] == pytest.approx([a.score for a in answers32], abs=0.1)

    session = reader._onnx["int8"]
    nlp.from_bytes(nlp.to_bytes())  # new weights: the int8 copy must be rebuilt
    assert reader._onnx == {}
    reader.answer_pairs([(TEXT, "Where?")])
    assert reader._onnx["int8"] is not session


def test_onnx_float32_reader_gives_the_same_answers(tiny_model_dir):
    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    reader = nlp.get_pipe("span_qa")
    pairs = [(TEXT, "Where was he born?"), (TEXT * 3, "When was he born?"), ("Short one.", "What?")]
    torch_answers = reader.answer_pairs(pairs)
    reader.use_runtime("onnx")
    onnx_answers = reader.answer_pairs(pairs)
    ops = reader._onnx["onnx"].op_types
    assert ops["MatMul"] and not ops["MatMulInteger"] and not ops["DynamicQuantizeMatMul"]
    assert [(a.start_char, a.end_char) for a in onnx_answers] == [
        (a.start_char, a.end_char) for a in torch_answers
    ]
    assert [a.score for a in onnx_answers] == pytest.approx([a.score for a in torch_answers], abs=1e-4)


def test_update_lowers_the_loss(tiny_model_dir):
    from spacy.training import Example

    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12)
    doc = nlp.make_doc(TEXT)
    ref = nlp.make_doc(TEXT)
    ref._.qa_questions = [{"id": "1", "question": "Where?", "answers": [{"text": "Hawaii", "answer_start": 25}]}]
    doc._.qa_questions = [{"id": "1", "question": "Where?"}]
    examples = [Example(doc, ref)]
    optimizer = nlp.initialize(lambda: examples)
    losses = [nlp.update(examples, sgd=optimizer, losses={})["span_qa"] for _ in range(15)]
    assert losses[-1] < losses[0] / 2


def test_qa_checkpoint_keeps_its_head_and_encoder_gets_a_new_one(tiny_model_dir, tmp_path):
    import torch
    from transformers import BertForQuestionAnswering, BertModel

    from spacy_spanqa.reader.model import get_transformer

    saved = BertForQuestionAnswering.from_pretrained(str(tiny_model_dir))
    nlp = make_nlp(tiny_model_dir)
    loaded = get_transformer(nlp.get_pipe("span_qa").model)
    assert torch.equal(loaded.qa_outputs.weight, saved.qa_outputs.weight)

    encoder_dir = tmp_path / "encoder"
    BertModel(saved.config).save_pretrained(str(encoder_dir))
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (encoder_dir / name).write_bytes((tiny_model_dir / name).read_bytes())
    reader = make_nlp(encoder_dir).get_pipe("span_qa")
    assert get_transformer(reader.model).qa_outputs.weight.shape == (2, 64)


def test_a_model_onnx_cannot_export_fails_with_one_clear_sentence():
    import torch

    from spacy_spanqa.reader.onnx_reader import OnnxReader

    class Broken(torch.nn.Module):
        def forward(self, **inputs):
            raise RuntimeError("unsupported operator")

    with pytest.raises(ValueError, match=r"^Could not export Broken to ONNX \(unsupported operator\); set runtime"):
        OnnxReader.from_transformer(Broken(), ["input_ids", "attention_mask"])


def test_runtime_is_one_setting_and_the_old_booleans_still_load(tiny_model_dir, tmp_path):
    import spacy

    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, runtime="onnx")
    assert nlp.get_pipe("span_qa").runtime == "onnx"
    with pytest.raises(ValueError, match=r"^Unknown runtime 'tpu'; use one of: torch, onnx, int8\.$"):
        make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, runtime="tpu")

    # A 0.2 config said `quantize = true`: it loads as runtime "int8", with a DeprecationWarning.
    nlp.to_disk(tmp_path / "p")
    config = (tmp_path / "p" / "config.cfg").read_text()
    config = config.replace('runtime = "onnx"', 'runtime = "torch"').replace("quantize = null", "quantize = true")
    (tmp_path / "p" / "config.cfg").write_text(config)
    cfg = tmp_path / "p" / "span_qa" / "cfg"
    cfg.write_text(cfg.read_text().replace('"runtime":"onnx"', '"runtime":"torch","quantize":true,"onnx":false'))
    with pytest.warns(DeprecationWarning, match="runtime"):
        loaded = spacy.load(tmp_path / "p")
    reader = loaded.get_pipe("span_qa")
    assert reader.runtime == "int8" and "quantize" not in reader.cfg and "onnx" not in reader.cfg


def test_set_calibration_keeps_cfg_and_the_saved_config_in_step(tiny_model_dir, tmp_path):
    import spacy

    from spacy_spanqa.reader.calibration import Calibration

    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12)
    reader = nlp.get_pipe("span_qa")
    reader.set_calibration(Calibration(score_scale=0.5, score_bias=-1.0, no_answer_threshold=0.3, tentative_floor=0.1), nlp)
    assert reader.score_margin(2.0) == pytest.approx(0.5)  # sigmoid(0.5 * 2 - 1)
    nlp.to_disk(tmp_path / "p")
    assert spacy.util.load_config(tmp_path / "p" / "config.cfg")["components"]["span_qa"]["score_scale"] == 0.5
    loaded = spacy.load(tmp_path / "p").get_pipe("span_qa")
    assert (loaded.cfg["score_scale"], loaded.cfg["score_bias"], loaded.cfg["no_answer_threshold"]) == pytest.approx((0.5, -1.0, 0.3))


def test_predict_returns_named_span_candidates(tiny_nlp):
    from spacy_spanqa.reader.decoding import SpanCandidate

    doc = tiny_nlp.make_doc(TEXT)
    doc._.qa_questions = ["Where was he born?"]
    [[best]] = tiny_nlp.get_pipe("span_qa").predict([doc])
    assert isinstance(best, SpanCandidate)
    assert 0 <= best.start_char < best.end_char <= len(TEXT) and isinstance(best.margin, float)


def test_freeze_layers_trains_only_the_layers_above(tiny_model_dir, tmp_path):
    import spacy
    import torch
    from spacy.training import Example

    from spacy_spanqa.reader.model import get_transformer

    nlp = make_nlp(tiny_model_dir, max_seq_length=48, doc_stride=12, model={"name": str(tiny_model_dir), "freeze_layers": 1})
    doc, ref = nlp.make_doc(TEXT), nlp.make_doc(TEXT)
    ref._.qa_questions = [{"id": "1", "question": "Where?", "answers": [{"text": "Hawaii", "answer_start": 25}]}]
    doc._.qa_questions = [{"id": "1", "question": "Where?"}]
    examples = [Example(doc, ref)]
    optimizer = nlp.initialize(lambda: examples)
    bert = get_transformer(nlp.get_pipe("span_qa").model).bert
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    after = bert.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert not any(k.startswith(("embeddings.", "encoder.layer.0.")) for k in changed)
    assert any(k.startswith("encoder.layer.1.") for k in changed)

    # Saved and loaded, the layers stay frozen.
    nlp.to_disk(tmp_path / "frozen")
    loaded = get_transformer(spacy.load(tmp_path / "frozen").get_pipe("span_qa").model).bert
    assert not any(p.requires_grad for p in loaded.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in loaded.encoder.layer[1].parameters())


def test_freezing_more_layers_than_the_model_has_is_refused(tiny_model_dir):
    with pytest.raises(ValueError, match="has only 2 layers"):
        make_nlp(tiny_model_dir, model={"name": str(tiny_model_dir), "freeze_layers": 3})
