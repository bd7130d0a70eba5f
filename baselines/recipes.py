"""The trainable baselines' names and the training defaults the command line shows.

Plain names only (no torch): ``bench --help`` reads them while building its parser (``baselines.train_cli``); the
training itself is ``baselines.train``.
"""

RECIPES: dict[str, str] = {
    "wen-gan": "baselines.wen_gan:WenGan",
    "speech2face": "baselines.speech2face:Speech2Face",
    "ar-spm": "baselines.ar_spm:ARSPM",
}
"""Trainable baselines: name -> "module:RecipeClass"."""

DEFAULT_CHECKPOINT_EVERY = 500
"""``bench train`` writes the checkpoint every this many steps (and at the end) unless told otherwise."""
