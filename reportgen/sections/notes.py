"""What a reader should know about how the report was made: the notes of the run (a
synthetic input, a cut, a trusted file, ...), the training state a file keeps beside its
weights, and the repairs a file needed to load (one per rule)."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_int
from reportgen.sections.base import Evidence, Page, Section


@dataclass(frozen=True)
class NotesFacts:
    """The run's notes (Messages), the repairs (`loaded`: they made Keras load the file; else
    Keras refused it after them), and the stored training state (path, tensors, values)."""

    notes: tuple[str, ...]
    repairs: tuple
    stored_state: tuple[tuple[str, int, int], ...]
    loaded: bool = True
    custom_layers: tuple = ()


def collect(evidence: Evidence) -> NotesFacts:
    """Every note the run and the other sections made, in order."""
    return NotesFacts(tuple(evidence.notes), tuple(evidence.repairs),
                      tuple(evidence.stored_state), loaded=evidence.mode == "full",
                      custom_layers=tuple(evidence.custom_layers))


def view(facts: NotesFacts, _pictures, _page: Page) -> dict | None:
    """The notes as sentences, and one line per repair rule (None when there are none)."""
    notes = list(facts.notes) + stored_state_notes(facts.stored_state)
    if not notes and not facts.repairs:
        return None
    return {"notes": notes, "loaded": facts.loaded,
            "repairs": [{"change": r.change, "layers": ", ".join(r.layers), "why": r.why,
                         "error": r.error, "rule": r.rule} for r in facts.repairs]}


def stored_state_notes(stored_state) -> list[str]:
    """Training state the file keeps beside the weights (optimizer, metrics), named as such."""
    return [_("The file also keeps {path} state ({n_tensors} tensors, {n_values} values); it "
              "is training state, not a layer.").format(path=path, n_tensors=fmt_int(n_tensors),
                                                        n_values=fmt_int(n_values))
            for path, n_tensors, n_values in stored_state]


def repair_sentence(repair) -> str:
    """One repair as the sentence the JSON keeps."""
    return (f"{repair.change} in {', '.join(repair.layers)}: {repair.why} "
            f"(Keras said: {repair.error})")


def sidecar(facts: NotesFacts, _evidence: Evidence) -> dict:
    """The keys `notes`, `repairs` (sentences) and `repair_details`."""
    outcome = "loaded" if facts.loaded else "still refused"
    return {"repairs": [repair_sentence(r) for r in facts.repairs],
            "repair_details": [{"rule": r.rule, "error": r.error, "change": r.change,
                                "layers": list(r.layers), "why": r.why, "outcome": outcome}
                               for r in facts.repairs],
            "notes": list(facts.notes),
            "custom_layers": [{key: layer[key] for key in ("name", "path", "class_name",
                                                        "registered_name", "config")}
                              for layer in facts.custom_layers]}


SECTION = Section(name="notes", title=N_("Notes"), template="notes.html.j2", after=("*",),
                  collect=collect, view=view, sidecar=sidecar, toc=lambda *_args: [])
