"""The demo's second model: a small text classifier, for the section an image model cannot
show (which tokens decided: reportgen/sections/sequence.py). Its sentences are generated
here, deterministically: a review of filler words with one or two words that decide.
"""

from __future__ import annotations

import numpy as np

from reportgen.load.keras.runtime import import_keras

FILLER = ("the", "a", "film", "plot", "acting", "music", "story", "ending", "cast", "was",
          "is", "and", "but", "really", "quite", "very", "it", "this", "of", "its")
DECIDING = {"positive": ("great", "wonderful", "moving", "brilliant"),
            "negative": ("dull", "awful", "boring", "weak")}
TEXT_CLASSES = tuple(DECIDING)
# Token 0 pads a short sentence (IG's baseline for tokens), then the filler, then the words
# that decide.
VOCABULARY = ("<pad>", *FILLER, *(word for words in DECIDING.values() for word in words))
LENGTH = 12
N_SENTENCES = 1600
TEXT_SAMPLE = 400  # held-out sentences, the text report's labelled sample
TEXT_SEED = 7


def sentences(n: int = N_SENTENCES, seed: int = TEXT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (n, LENGTH) and labels: 7 to 12 words, one or two of them the class's own,
    the rest filler, padded with token 0 at the end."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(TEXT_CLASSES), n)
    tokens = np.zeros((n, LENGTH), np.int64)
    for row, label in enumerate(labels):
        length = int(rng.integers(7, LENGTH + 1))
        words = list(rng.choice(FILLER, length))
        deciding = DECIDING[TEXT_CLASSES[label]]
        for place in rng.choice(length, int(rng.integers(1, 3)), replace=False):
            words[place] = deciding[int(rng.integers(len(deciding)))]
        tokens[row, :length] = [VOCABULARY.index(word) for word in words]
    return tokens, labels.astype(np.int64)


def train_text_model(tokens: np.ndarray, labels: np.ndarray, path, seed: int = 42,
                     epochs: int = 6) -> float:
    """Embedding -> average -> softmax, trained deterministically and saved to path; the
    accuracy on the last fifth, held out."""
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((LENGTH,), dtype="int32"),
        keras.layers.Embedding(len(VOCABULARY), 8, name="embedding"),
        keras.layers.GlobalAveragePooling1D(name="average"),
        keras.layers.Dense(len(TEXT_CLASSES), activation="softmax", name="sentiment"),
    ], name="demo_text")
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    n_train = int(len(tokens) * 0.8)
    model.fit(tokens[:n_train], labels[:n_train], batch_size=64, epochs=epochs, shuffle=True,
              verbose=0)
    _, accuracy = model.evaluate(tokens[n_train:], labels[n_train:], verbose=0)
    model.save(path)
    return float(accuracy)
