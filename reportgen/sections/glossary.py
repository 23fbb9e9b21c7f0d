"""The words of the report a reader may not know, each in one plain sentence, in the page's
language: the chapter's readers meet alpha, a spectrum or Grad-CAM here for the first time."""

from __future__ import annotations

from reportgen.i18n import N_, _
from reportgen.sections.base import Evidence, Page, Section

TERMS = (
    (N_("kernel"), N_("the weights of a convolution: one small grid of numbers per filter "
                      "and input channel, slid over the image.")),
    (N_("feature map"), N_("what one filter of a layer outputs for an input: bright where the "
                           "input has what the filter looks for.")),
    (N_("fresh initialisation"), N_("the same layer with new random weights, as before "
                                    "training: what the trained weights are compared with.")),
    (N_("spectrum"), N_("the eigenvalues of WᵀW for a weight matrix W: how strongly the layer "
                        "stretches its inputs in each direction.")),
    (N_("alpha"), N_("the exponent of a power law fitted to the spectrum's large values; "
                     "well-trained layers often have 2 to 6 (a rule of thumb, not a proof).")),
    (N_("stable rank"), N_("how many directions a weight matrix really uses: the sum of its "
                           "eigenvalues divided by the largest.")),
    (N_("dead channel"), N_("a channel whose output is zero for every input given: it "
                            "contributes nothing.")),
    (N_("ECE"), N_("expected calibration error: how far the model's confidence is from its "
                   "accuracy, averaged over confidence bins.")),
    (N_("Grad-CAM"), N_("a heat map of where in the image the last convolutions saw evidence "
                        "for a class, from the gradients of that class's score.")),
)


def collect(_evidence: Evidence) -> tuple:
    """The terms (fixed: the words the report uses)."""
    return TERMS


def view(terms: tuple, _pictures, _page: Page) -> dict:
    """Each term and its sentence in the page's language."""
    return {"terms": [{"term": _(term), "meaning": _(meaning)} for term, meaning in terms]}


SECTION = Section(name="glossary", title=N_("Glossary"), template="glossary.html.j2",
                  collect=collect, view=view)
