"""Neural ISP: a per-design RAW-to-RGB network (paper section 3), trained on CPU, shipped as weights.

Modules: ``model`` (architecture, RepVGG folding, receptive field, MAC count), ``data`` (training
pairs from the design's forward model), ``train`` (loop, checkpoints, resume, export), ``infer``
(tiled inference), ``registry`` (pretrained/manifest.json: lookup by design hash, sha256 check);
bursts: ``model.MultiFrameISP``, ``burst_data`` (burst batches), ``burst_train`` (its training).

Entry points: ``engine.isp.run_pipeline("neural", capture)``; ``python -m engine train``.
"""

from engine.isp.neural.model import ModelConfig, NeuralISP, build_model, macs_per_megapixel, receptive_field_px

__all__ = ["ModelConfig", "NeuralISP", "build_model", "macs_per_megapixel", "receptive_field_px"]
