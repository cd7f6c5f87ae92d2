"""The oracle for `lmc.official`: the authors' functional forward pass, which now lives in the
package (`lmc.bench.authors_form`, also the reference of the CPU bench's `--authors`)."""

from lmc.bench.authors_form import official_forward

__all__ = ["official_forward"]
