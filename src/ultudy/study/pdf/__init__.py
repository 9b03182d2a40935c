"""Reading PDFs: text per page, and sections from the outline or from headings.

`reader` is the only module that touches pypdfium2; it turns pages into plain `Line` and
`Page` values (`model`), and the layout rules work on those: `title`, `outline`,
`headings` and `sections` (which also drops running headers and footers). The app reads
an upload only through `IsolatedPdfReader` (`isolated`), which runs `reader` in a child
process (`child`) under `PdfLimits` (`limits`).
"""

from ultudy.study.pdf.isolated import IsolatedPdfReader, document_from_dict
from ultudy.study.pdf.limits import DEFAULT_LIMITS, PdfLimits
from ultudy.study.pdf.model import ExtractedDocument, Section, with_page_texts
from ultudy.study.pdf.reader import RENDER_SCALE, extract_pdf, looks_like_pdf, render_page_png

__all__ = [
    "DEFAULT_LIMITS",
    "RENDER_SCALE",
    "ExtractedDocument",
    "IsolatedPdfReader",
    "PdfLimits",
    "Section",
    "document_from_dict",
    "extract_pdf",
    "looks_like_pdf",
    "render_page_png",
    "with_page_texts",
]
