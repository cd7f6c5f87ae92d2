"""What the wheel holds; the rest of the package's description is pyproject.toml's.

The library `lmc`, the `lmc` command (`lmc_cli`) and, inside the command's package, the
applications: the repository's train/ and dashboard/ become lmc_cli/apps/train and
lmc_cli/apps/dashboard, so that installing lmc adds no top-level `train` or `dashboard` package
beside other projects' (lmc_cli/applications.py loads them). A list in pyproject.toml cannot
rename folders that are found rather than listed, hence these few lines.
"""

from setuptools import find_packages, setup

APPS = ("train", "dashboard")

packages = find_packages(include=["lmc", "lmc.*", "lmc_cli", "lmc_cli.*"])
for app in APPS:
    names = [app, *(f"{app}.{sub}" for sub in find_packages(app))]  # dashboard.views, ...
    packages += [f"lmc_cli.apps.{name}" for name in names]
setup(packages=packages, package_dir={f"lmc_cli.apps.{app}": app for app in APPS})
