"""Whether an --input looks like the labelled sample: its background (the mean of a frame
round the image) and its brightness (its mean), both as the model sees them, against the
spread of the same two numbers over the sample's images.

Rule (kind input_unlike_sample, a note): an input is unlike the sample when one of the two
lies outside the sample's 1st-99th percentile range AND is further than UNLIKE_SHARE of the
sample's value range from the sample's median. A dark boot photographed on white, given to
the chapter's model (light garments on black), has a background near 1 where every sample
image has one near 0: its prediction says little about the model.

Measured against the 900-image Fashion-MNIST sample: none of the 10,000 test-set images is
flagged (the highest background among them, a garment filling the frame, is 0.54 against a
median of 0.08), and 9,997 of the same images inverted (dark on white) are; at a share of
0.25 the brightness rule alone flagged 186 healthy images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.alert import NOTE, SAMPLE, Alert, AlertKind
from reportgen.i18n import N_, msg

UNLIKE_SHARE = 0.5
TRAITS = (N_("background"), N_("brightness"))

KIND = AlertKind(
    "input_unlike_sample", msg("An input is unlike the labelled sample"),
    msg("its background (the mean of its border) or brightness (its mean) lies outside the "
        "sample's 1st-99th percentiles and more than {share:g} of the sample's value range "
        "from its median", share=UNLIKE_SHARE),
    msg("The model's answer for such an input says little about the model: the images it "
        "was evaluated on look different (a light background where the sample's is dark, "
        "say). Photograph or prepare the input the way the sample was."),
    severity=NOTE, needs=SAMPLE)


@dataclass(frozen=True)
class SampleTraits:
    """The sample's background and brightness: (1st percentile, median, 99th percentile)
    of each over its images, and the lowest and highest value of any image."""

    background: tuple[float, float, float]
    brightness: tuple[float, float, float]
    low: float
    high: float


def image_traits(batch: np.ndarray) -> np.ndarray:
    """(N, 2): each image's background (the mean of a frame about a fourteenth of its side
    wide, 2 pixels at 28) and brightness (its mean). `batch` is (N, H, W[, C])."""
    values = np.asarray(batch)  # summed in float64, without a float64 copy of the batch
    height, width = values.shape[1:3]
    edge = max(1, min(height, width) // 14)
    inner = np.zeros((height, width), bool)
    inner[edge:height - edge, edge:width - edge] = True
    frame = values[:, ~inner]
    return np.stack([frame.reshape(len(values), -1).mean(axis=1, dtype=np.float64),
                     values.reshape(len(values), -1).mean(axis=1, dtype=np.float64)], axis=1)


class TraitAccumulator:
    """Every sample image's two traits, batch by batch (16 bytes an image), and the range."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.low, self.high = np.inf, -np.inf

    def add(self, batch: np.ndarray) -> None:
        if np.asarray(batch).ndim < 3 or not len(batch):
            return  # not images
        self.parts.append(image_traits(batch))
        self.low = min(self.low, float(np.min(batch)))
        self.high = max(self.high, float(np.max(batch)))

    def result(self) -> SampleTraits | None:
        if not self.parts:
            return None
        traits = np.concatenate(self.parts)
        p1, median, p99 = np.percentile(traits, [1, 50, 99], axis=0)
        return SampleTraits((p1[0], median[0], p99[0]), (p1[1], median[1], p99[1]),
                            self.low, self.high)


def unlike_alerts(inputs: list[tuple[str, np.ndarray]],
                  traits: SampleTraits | None) -> tuple[Alert, ...]:
    """A note for each named input (as the model sees it) unlike the sample (the rule above)."""
    if traits is None:
        return ()
    span = traits.high - traits.low
    found = []
    for name, array in inputs:
        if array.ndim != 3 or span <= 0:  # an image, (H, W, C), as the sample's
            continue
        own = image_traits(array[None])[0]
        for trait, value, (p1, median, p99) in zip(TRAITS, own, (traits.background,
                                                                  traits.brightness)):
            if not p1 <= value <= p99 and abs(value - median) > UNLIKE_SHARE * span:
                found.append(Alert(KIND.name, NOTE, "", msg(
                    "{input}: {trait} {value:.3g}, where the sample's images have {low:.3g} "
                    "to {high:.3g} (median {median:.3g})", input=name, trait=msg(trait),
                    value=value, low=p1, high=p99, median=median), name,
                    ((trait, float(value)), ("sample_p1", float(p1)),
                     ("sample_median", float(median)), ("sample_p99", float(p99)))))
                break
    return tuple(found)

