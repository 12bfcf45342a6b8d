# Sourced by scripts/serve and scripts/test: make .venv and install Hookline with its dev extra.
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
