# Sourced by scripts/serve and scripts/test: make .venv and install Hookline with its dev extra.
# The install is skipped while pyproject.toml is unchanged since the last one (a stamp in .venv),
# so commands started side by side (CI's two test runs) never install into .venv at once.
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
_hookline_stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ $(cat .venv/.hookline-installed 2>/dev/null) != "$_hookline_stamp" ]]; then
  # A failed install returns from the sourcing before the stamp is written, whether or not
  # the caller runs under `set -e`.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' || return 1
  echo "$_hookline_stamp" > .venv/.hookline-installed
fi
unset _hookline_stamp
