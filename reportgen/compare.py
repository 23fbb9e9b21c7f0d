"""`reportgen compare A B`: how a checkpoint's weights changed from A to B, layer by layer,
as one self-contained HTML page and a JSON sidecar.

The weights are read straight from both files with h5py, so the comparison needs no
TensorFlow; only --input loads the two models with Keras, to run them on the same inputs.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from reportgen.version import __version__
from reportgen.analyse.compare import CompareFacts, FileFacts, compare_pair, find_alerts
from reportgen.analyse.layer_match import match_layers
from reportgen.analyse.compare_outputs import OutputComparison, compare_outputs
from reportgen.commands import DEFAULT_OUTPUT_DIR, run_guarded
from reportgen.draw.compare_pictures import is_convolution, kernel_figures
from reportgen.draw.pictures import colour_bars
from reportgen.errors import ReportInputError, message_of
from reportgen.i18n import _, msg, nmsg
from reportgen.load.guards import require_regular_file
from reportgen.load.model_file import ModelFile, check_model_file
from reportgen.load.sample_index import SampleIndex, index_sample
from reportgen.load.samples import GivenInput, Sample, parse_input
from reportgen.load.snapshot import ModelSnapshot
from reportgen.load.weights_file import open_weights
from reportgen.options import COMPARE, COMPARE_DATA_IMAGES, Options, build_parser
from reportgen.parallel import ordered_map
from reportgen.pipeline.compare_run import run_both
from reportgen.pipeline.output import Output
from reportgen.pipeline.request import generation_time
from reportgen.progress import Progress
from reportgen.page.compare_sidecar import compare_text
from reportgen.page.compare_view import compare_view
from reportgen.page.render import environment


def main(argv: list[str]) -> int:
    """Run `reportgen compare`; return the exit code."""
    args = build_parser(COMPARE).parse_args(argv)
    progress = Progress(quiet=args.quiet)

    def work() -> int:
        html_path, json_path = run_compare(args, progress)
        progress.step(msg("wrote {html} and {json}", html=html_path, json=json_path))
        return 0

    return run_guarded(args, work)


def run_compare(args: argparse.Namespace, progress: Progress) -> tuple[Path, Path]:
    """Check the inputs, compare, render and write; return the page's and sidecar's paths."""
    given = tuple(parse_input(text) for text in args.inputs)
    output = args.output or DEFAULT_OUTPUT_DIR / f"{args.model_a.stem}-vs-{args.model_b.stem}.html"
    target = Output(output, [args.model_a, args.model_b, *(item.path for item in given),
                             *(path for path in (args.data, args.data_labels) if path)])
    for item in given:
        require_regular_file(item.path, msg("input file"))
    if given and args.data:
        raise ReportInputError(msg("give --input or --data to compare, not both"))
    if args.data_labels and not args.data:
        raise ReportInputError(msg("--data-labels goes with --data"))
    # The sample is listed and checked before anything is loaded (sample_index.py).
    index = index_sample(args.data, args.data_labels, (), args.data_root) if args.data else None
    file_a, file_b = check_model_file(args.model_a), check_model_file(args.model_b)
    facts, figures = compare_weights(file_a, file_b, progress)
    if given or index is not None:
        outputs, note = compare_model_outputs(file_a, file_b, given, index, progress)
        facts = dataclasses.replace(facts, outputs=outputs, outputs_note=note)
    html = environment().get_template("compare.html.j2").render(
        **compare_view(facts, figures, colour_bars()))
    return target.write(html, compare_text(facts), progress)


def compare_weights(file_a: ModelFile, file_b: ModelFile,
                    progress: Progress) -> tuple[CompareFacts, dict]:
    """The weights part, read from both files with h5py: facts, and kernel figures by layer."""
    progress.step(msg("reading the weights of {a} and {b}", a=file_a.path.name,
                      b=file_b.path.name))
    with open_weights(file_a) as snapshot_a, open_weights(file_b) as snapshot_b:
        pairs, unmatched = match_layers(snapshot_a, snapshot_b)
        progress.step(nmsg("comparing {n} matched layer", "comparing {n} matched layers",
                           len(pairs)))
        layers = tuple(ordered_map(lambda item: compare_pair(*item), enumerate(pairs)))
        drawn = [(pair.a, pair.b) for pair, layer in zip(pairs, layers)
                 if layer.changed and is_convolution(pair.a)]
        progress.step(nmsg("drawing the kernels of {n} changed convolution",
                           "drawing the kernels of {n} changed convolutions", len(drawn)))
        options = Options()
        figures = dict(zip([a.path for a, _ in drawn],
                           ordered_map(lambda pair: kernel_figures(*pair, options), drawn)))
        facts = CompareFacts(a=file_facts(file_a, snapshot_a), b=file_facts(file_b, snapshot_b),
                             layers=layers, unmatched=unmatched, alerts=find_alerts(layers),
                             outputs=None, outputs_note="", generated_at=generation_time(),
                             reportgen_version=__version__)
    return facts, figures


def file_facts(model_file: ModelFile, snapshot: ModelSnapshot) -> FileFacts:
    """What the page says about one of the two files."""
    return FileFacts(file_name=model_file.path.name, file_size=model_file.size,
                     sha256=model_file.sha256, format=model_file.format,
                     saved_by_keras_version=model_file.saved_by_keras_version,
                     class_name=snapshot.class_name,
                     n_params=sum(layer.n_params for layer in snapshot.layers))


def compare_model_outputs(file_a: ModelFile, file_b: ModelFile, given: tuple[GivenInput, ...],
                          index: SampleIndex | None,
                          progress: Progress) -> tuple[OutputComparison | None, str]:
    """Both models run on the same inputs (--input files, or the first COMPARE_DATA_IMAGES of a
    --data sample with their labels), compared; or None and why they could not be."""
    # Only here: the weights part needs no TensorFlow.
    from reportgen.load.keras.loading import ModelNotRebuilt, load
    from reportgen.load.samples import model_samples

    progress.step(msg("loading both models to run them (importing TensorFlow)"))
    models = []
    for model_file in (file_a, file_b):
        try:
            models.append(load(model_file))
        except ModelNotRebuilt as exc:
            return None, msg("No output comparison: Keras could not rebuild {file}: "
                             "{error}", file=model_file.path.name, error=message_of(exc))
    snapshot = models[0].snapshot()
    samples, labels, n_available = (
        data_samples(index, snapshot) if index is not None
        else (model_samples(list(given), snapshot.inputs, "auto"), None, None))
    progress.step(nmsg("running both models on {n} input", "running both models on {n} inputs",
                       len(samples)))
    counted = _("ran both models on {done} of {total} inputs")
    run = run_both(models, samples, [layer.output_shape for layer in snapshot.layers],
                   lambda n: progress.count(counted, n, len(samples)))
    if run.error:
        return None, msg("No output comparison: {file} could not run: {error}",
                         file=(file_a, file_b)[run.failed].path.name, error=run.error)
    return compare_outputs([(s.name, s.source) for s in samples], run.similarities,
                           run.scores_a, run.scores_b, labels, n_available), ""


def data_samples(index: SampleIndex, snapshot: ModelSnapshot
                 ) -> tuple[list[Sample], np.ndarray, int]:
    """At most COMPARE_DATA_IMAGES images of a labelled sample, evenly spaced, as samples, their
    labels, and how many images the sample has: both models run on each (CKA over
    minibatches), so the count is capped for time (and said)."""
    from reportgen.load.dataset import bind

    if len(snapshot.inputs) != 1:
        raise ReportInputError(msg("--data needs a model with one input; this one has {n}",
                                   n=len(snapshot.inputs)))
    sample = bind(index, snapshot.inputs[0].shape or (), snapshot.n_classes,
                  token_limit=snapshot.inputs[0].token_limit)
    # Evenly spaced through the sample: samples are often stored class by class.
    chosen = np.unique(np.linspace(0, sample.n_images - 1,
                                   min(sample.n_images, COMPARE_DATA_IMAGES)).astype(np.int64))
    images = sample.conformed(chosen)
    samples = [Sample(sample.sources[k], sample.sources[k], (image,))
               for k, image in zip(chosen, images)]
    return samples, np.asarray(sample.labels)[chosen], sample.n_images
