"""The LMC-Memory dashboard, a Streamlit app over `lmc.analysis`: `streamlit run dashboard/app.py`.

An installed package (pyproject.toml), so pages, tests and benchmarks import `dashboard.*` from
anywhere without touching sys.path.
"""

from pathlib import Path

APP = Path(__file__).with_name("app.py")  # the script `streamlit run` and AppTest take
