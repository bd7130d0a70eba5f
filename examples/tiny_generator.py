"""A tiny example generator for voice2face-bench: docs/ADDING_A_GENERATOR.md walks through it line by line.

It draws a cartoon face whose skin tone follows the loudness of the voice, with a little jitter seeded per
utterance. It shows the interface, not a method: expect chance-level scores.
"""

import numpy as np
import torch

from benchmark.generators import GeneratorContext, GeneratorMeta, utterance_seed


class TinyVoiceGenerator:
    """Voices in, faces out: ``generate`` maps float32 [B, T] 16 kHz audio to uint8 [B, 3, S, S] RGB."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 64):
        self.ctx = ctx  # benchmark.data.heldout.training_utterances/_faces(ctx.manifest): all a learned generator may use
        self.size = int(image_size)
        self.meta = GeneratorMeta(name="tiny-example", image_size=self.size,
                                  citation="examples/tiny_generator.py (docs/ADDING_A_GENERATOR.md)")

    def generate(self, waveforms, lengths, utterance_ids):
        faces = []
        for wave, n, utt in zip(waveforms, lengths, utterance_ids):
            loudness = float(wave[: int(n)].float().pow(2).mean().sqrt())  # RMS in [0, 1]
            rng = np.random.default_rng(utterance_seed(self.ctx.seed, utt))  # same face for any batch order
            faces.append(self.draw(min(1.0, 8.0 * loudness), rng))
        return torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()  # [B, 3, S, S] uint8

    def draw(self, tone: float, rng: np.random.Generator) -> np.ndarray:
        """A uint8 [S, S, 3] cartoon face: skin tone from ``tone`` in [0, 1], seeded jitter."""
        s = self.size
        y, x = np.mgrid[0:s, 0:s] / s  # [S, S] coordinates in [0, 1)
        skin = np.array([225, 190, 160]) * (0.6 + 0.4 * tone) + rng.normal(0, 6, 3)
        image = np.full((s, s, 3), 235.0)
        image[((x - 0.5) / 0.32) ** 2 + ((y - 0.52) / 0.42) ** 2 < 1] = skin  # face
        for cx in (0.38, 0.62):
            image[((x - cx) / 0.05) ** 2 + ((y - 0.42) / 0.035) ** 2 < 1] = (40, 30, 30)  # eyes
        image[(np.abs(y - 0.7) < 0.02) & (np.abs(x - 0.5) < 0.12)] = (150, 60, 60)  # mouth
        return np.clip(image, 0, 255).astype(np.uint8)
