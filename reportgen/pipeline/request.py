"""What a report is asked for: the model, where to write, the files given for it, and every
option by dest as the option table declares it (reportgen/options.py)."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from reportgen.errors import ReportInputError
from reportgen.i18n import msg
from reportgen.load.guards import require_regular_file
from reportgen.load.inputs import read_labels, read_vocabulary
from reportgen.load.model_file import ModelFile
from reportgen.load.sample_index import SampleIndex, index_sample
from reportgen.load.sharded import indexes_beside
from reportgen.load.samples import GivenInput
from reportgen.options import Options, drawing_options, option_default
from reportgen.options import settings as report_settings
from reportgen.version import __version__


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and where to write it: the model file (or the name of a model in
    memory), the output, the files given for it, and every other option by dest (defaults
    where missing)."""

    model_path: Path
    output: Path
    inputs: tuple[GivenInput, ...] = ()
    labels_path: Path | None = None
    data_path: Path | None = None
    data_labels_path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def value(self, dest: str) -> Any:
        """An option's value: the one given, else its default."""
        return self.values[dest] if dest in self.values else option_default(dest)

    @property
    def options(self) -> Options:
        return drawing_options(dict(self.values))

    @property
    def settings(self) -> dict:
        """The report's settings (the sidecar's `settings`; --resume compares them)."""
        return report_settings(dict(self.values))

    @property
    def input_scale(self) -> str:
        return self.value("input_scale")

    @property
    def weights_only(self) -> bool:
        return bool(self.value("weights_only"))

    @property
    def trust_model(self) -> bool:
        return bool(self.value("trust_model"))

    @property
    def architecture_path(self) -> Path | None:
        return self.value("architecture")

    def protected(self) -> list[Path]:
        """The files a report must never write over: every file it reads."""
        # A shard given for its set: the set's index is read too (a sidecar of the same name
        # would replace it).
        found = [self.model_path, *indexes_beside(self.model_path),
                 *(given.path for given in self.inputs)]
        return found + [path for path in (self.labels_path, self.architecture_path,
                                          self.data_path, self.data_labels_path,
                                          self.value("vocabulary")) if path]

    def read_given(self) -> "Given":
        """The given files read and checked before any model is loaded: the inputs are
        regular files, the class names, the labelled sample listed (sample_index.py)."""
        for given in self.inputs:
            require_regular_file(given.path, msg("input file"))
        if self.data_labels_path is not None and self.data_path is None:
            raise ReportInputError(msg("--data-labels needs --data (the images they label)"))
        labels = tuple(read_labels(self.labels_path))
        vocabulary = tuple(read_vocabulary(self.value("vocabulary")))
        sample = index_sample(self.data_path, self.data_labels_path, labels,
                              self.value("data_root")) if self.data_path is not None else None
        return Given(labels, sample, vocabulary)


@dataclass(frozen=True)
class Given:
    """What a request's files say, read before any model is loaded: the class names
    (--labels) and the labelled sample's index (--data), None without one."""

    labels: tuple[str, ...] = ()
    sample: SampleIndex | None = None
    vocabulary: tuple[str, ...] = ()  # --vocabulary: token k's text is line k


def see_also_links(reports, output: Path) -> tuple[dict, ...]:
    """--see-also's reports as the page's header links: each file's name, and its path
    relative to the report's folder as a URL."""
    folder = output.resolve().parent
    return tuple({"text": Path(report).name,
                  "href": quote(Path(os.path.relpath(Path(report).resolve(), folder))
                                .as_posix())} for report in reports or ())


def card_path(output: Path) -> Path:
    """Where --card writes the model card: OUT.card.md beside OUT.html."""
    return output.with_suffix(".card.md")


def output_paths(output: Path, protected: list[Path]) -> tuple[Path, Path]:
    """The page and sidecar paths of an output, refusing any that would overwrite one of the
    `protected` files (the inputs) or is a folder."""
    if output.suffix.lower() not in (".html", ".htm"):
        raise ReportInputError(msg("{path}: the report must be an .html file", path=str(output)))
    json_path = output.with_suffix(".json")
    for target in (output, json_path, card_path(output)):
        if target.is_dir():
            raise ReportInputError(msg("{path}: is a directory", path=str(target)))
        if any(target.resolve() == path.resolve() for path in protected):
            raise ReportInputError(msg("{path}: refusing to overwrite an input file",
                                       path=str(target)))
    return output, json_path


def file_info(model_file: ModelFile, read_with: tuple[tuple[str, str], ...]) -> dict:
    """The file, version and time fields of the model facts."""
    return {
        "file_name": model_file.path.name,
        "file_size": model_file.size,
        "sha256": model_file.sha256,
        "format": model_file.format,
        "saved_by_keras_version": model_file.saved_by_keras_version,
        "read_with": read_with,
        "reportgen_version": __version__,
        "generated_at": generation_time(),
        "in_memory": model_file.in_memory,
    }


def generation_time() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set, so that builds can be reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch and not epoch.isdigit():
        raise ReportInputError(msg("SOURCE_DATE_EPOCH={value!r} is not a whole number of "
                                   "seconds", value=epoch))
    moment = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def hdf5_read_with() -> tuple[tuple[str, str], ...]:
    """The library that read a weights-only report."""
    import h5py

    return (("h5py", h5py.__version__),)
